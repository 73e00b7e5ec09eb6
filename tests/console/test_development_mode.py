"""Development mode runs with the simulator's public secrets, so it answers only requests from this computer."""

import pytest


@pytest.fixture
def dev_app(make_app):
    return make_app(ENV="development")


def _get(app, address: str, **headers):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.get("/login", headers=headers)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_development_answers_this_computer(dev_app, address):
    assert _get(dev_app, address).status_code == 200


def test_development_refuses_other_computers(dev_app):
    response = _get(dev_app, "192.168.1.20")
    assert response.status_code == 403
    assert "このコンピューター" in response.get_data(as_text=True)


def test_development_refuses_requests_a_local_proxy_forwards(dev_app):
    assert _get(dev_app, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}).status_code == 403


def test_other_modes_answer_everyone(app):
    assert _get(app, "192.168.1.20").status_code == 200
