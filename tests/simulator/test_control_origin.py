"""A web page the developer visits cannot drive the simulator: the control API takes JSON only and refuses
other origins; the chat page's plain forms accept posts from the simulator's own pages only."""

from __future__ import annotations

import pytest
import requests

EVIL = "http://evil.example"


def users(control) -> list[str]:
    return [user["displayName"] for user in control.users()]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("displayName=Mallory", "application/x-www-form-urlencoded"),
        ('{"displayName": "Mallory"}', "text/plain"),
        (
            "--b\r\nContent-Disposition: form-data; name=displayName\r\n\r\nMallory\r\n--b--",
            "multipart/form-data; boundary=b",
        ),
        ("", None),
    ],
)
def test_control_api_takes_json_only(control, sim_url, data, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(f"{sim_url}/_sim/users", data=data, headers=headers, timeout=10)
    assert response.status_code == 415 and "application/json" in response.json()["error"]
    assert users(control) == []


def test_platform_side_of_the_control_api_takes_json_only(control, sim_url):
    user_id = control.create_user("Kept")
    response = requests.post(f"{sim_url}/_sim/reset", data="x=1", headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 415
    assert users(control) == ["Kept"]
    assert requests.post(f"{sim_url}/_sim/users/{user_id}/follow", timeout=10).status_code == 415


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1"])
def test_control_api_refuses_other_origins(control, sim_url, origin):
    response = requests.post(f"{sim_url}/_sim/users", json={"displayName": "Mallory"}, headers={"Origin": origin})
    assert response.status_code == 403 and "origin" in response.json()["error"]
    assert users(control) == []


def test_control_api_accepts_its_own_origin_and_clients_without_one(control, sim_url):
    own = requests.post(f"{sim_url}/_sim/users", json={"displayName": "Page"}, headers={"Origin": sim_url}, timeout=10)
    assert own.status_code == 201
    user_id = control.create_user("Script")
    assert control.follow(user_id)["status"] is not None
    assert sorted(users(control)) == ["Page", "Script"]
    assert requests.get(f"{sim_url}/_sim/users", headers={"Origin": EVIL}, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"Origin": EVIL}, {"Origin": "null"}, {"Referer": EVIL + "/page"}, {"Origin": EVIL, "Referer": "SIM/"}],
)
def test_chat_forms_refuse_posts_from_other_sites(control, sim_url, headers):
    headers = {key: value.replace("SIM", sim_url) for key, value in headers.items()}
    user_id = control.create_user("Hanako")
    created = requests.post(
        f"{sim_url}/chat/users", data={"displayName": "Mallory"}, headers=headers, allow_redirects=False, timeout=10
    )
    sent = requests.post(
        f"{sim_url}/chat/{user_id}/messages", data={"text": "spam"}, headers=headers, allow_redirects=False, timeout=10
    )
    assert created.status_code == sent.status_code == 403
    assert users(control) == ["Hanako"] and control.timeline(user_id) == []


@pytest.mark.parametrize("headers", [{"Origin": "SIM"}, {"Referer": "SIM/?user=x"}, {}])
def test_chat_forms_accept_the_simulators_own_pages(control, sim_url, headers):
    headers = {key: value.replace("SIM", sim_url) for key, value in headers.items()}
    created = requests.post(
        f"{sim_url}/chat/users", data={"displayName": "Hanako"}, headers=headers, allow_redirects=False, timeout=10
    )
    assert created.status_code == 302
    assert users(control) == ["Hanako"]


def test_a_rebound_host_name_is_refused_everywhere(control, sim_url):
    """A site whose DNS name now points at 127.0.0.1 is "same origin" with itself, but its requests name it as Host."""
    rebound = {"Host": "evil.example:80", "Origin": "http://evil.example:80"}
    created = requests.post(f"{sim_url}/_sim/users", json={"displayName": "Mallory"}, headers=rebound, timeout=10)
    assert created.status_code == 421 and "ALLOWED_HOSTS" in created.json()["error"]
    assert requests.get(f"{sim_url}/_sim/users", headers=rebound, timeout=10).status_code == 421
    assert requests.get(f"{sim_url}/", headers=rebound, timeout=10).status_code == 421
    assert users(control) == []
    assert requests.get(f"{sim_url}/_sim/users", headers={"Host": "localhost"}, timeout=10).status_code == 200


def test_the_command_line_adds_its_bind_address_and_extra_hosts():
    from linesim import create_app
    from linesim.__main__ import parse_args, settings_from

    app = create_app(settings_from(parse_args(["--host", "192.0.2.7", "--allow-host", "linesim"])))
    client = app.test_client()
    for host in ("192.0.2.7:5001", "linesim", "127.0.0.1:5001", "[::1]:5001"):
        assert client.get("/_sim/users", headers={"Host": host}).status_code == 200, host
    assert client.get("/_sim/users", headers={"Host": "evil.example"}).status_code == 421
