"""Request logs name the route, never the path: link and survey-form tokens stay out of the logs."""

import logging

import pytest


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="crm.request")
    return caplog


def _lines(caplog) -> str:
    return "\n".join(record.getMessage() for record in caplog.records if record.name == "crm.request")


@pytest.mark.parametrize(
    ("path", "route"), [("/r/SECRETtoken123", "/r/<path:token>"), ("/s/SECRETtoken123", "/s/<token>")]
)
def test_token_paths_are_logged_as_their_route(app, request_log, path, route):
    app.test_client().get(path)
    lines = _lines(request_log)
    assert f"route={route} " in lines
    assert "SECRETtoken123" not in lines


def test_an_unknown_path_is_logged_without_it(app, request_log):
    app.test_client().get("/no/such/SECRETpage")
    lines = _lines(request_log)
    assert "route=(no route) status=404" in lines and "SECRET" not in lines
