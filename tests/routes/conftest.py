"""Inflow route tests: a CRM with a LINE Login channel served over HTTP, the simulator standing in for LINE
(its Login channel and its webhooks), and a visitor who goes through the route as a phone would."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import LiveServer

LINE_APP_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Line/14.1.0"
LOGIN_SETTINGS = {
    "LINE_LOGIN_CHANNEL_ID": "1660000001",
    "LINE_LOGIN_CHANNEL_SECRET": "simulator-login-channel-secret-32",
}
USER_ID = re.compile(r'name="userId" value="(U[0-9a-f]{32})"')


def login_settings(simulator_url: str) -> dict:
    """The CRM's settings for the simulator's LINE Login channel."""
    return {
        **LOGIN_SETTINGS,
        "LINE_LOGIN_AUTHORIZE_URL": f"{simulator_url}/oauth2/v2.1/authorize",
        "LINE_LOGIN_API_BASE": simulator_url,
        "LINE_ADD_FRIEND_URL": f"{simulator_url}/",
    }


@pytest.fixture
def app(make_app, simulator):
    return make_app(**login_settings(simulator.url))


@pytest.fixture
def crm_server(app, sim):
    """The CRM over HTTP, its public address the one LINE Login sends visitors back to."""
    server = LiveServer(app)
    app.config["PUBLIC_BASE_URL"] = server.url
    sim.configure(webhookUrl=f"{server.url}/callback")
    yield server
    server.stop()


@dataclass
class Visit:
    """Where a visitor's trip through a route ended: the callback URL LINE sent them to, and the last answer."""

    callback_url: str | None
    response: requests.Response
    user_id: str | None


class Visitor:
    """A phone going through a route: /i/<code> in LINE's in-app browser, the simulator's consent and add-friend
    screens, back to the CRM's callback."""

    def __init__(self, crm_url: str):
        self.crm_url = crm_url
        self.http = requests.Session()
        self.http.headers["User-Agent"] = LINE_APP_AGENT

    def authorize_url(self, code: str) -> str:
        response = self.http.get(f"{self.crm_url}/i/{code}", allow_redirects=False, timeout=10)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def login(self, code: str, *, name: str = "花子", user_id: str | None = None, add: bool = True) -> Visit:
        """Log in (a new user called `name`, or `user_id`), allow, add the friend (or not); stop before the
        CRM's callback."""
        authorize = self.authorize_url(code)
        flow = {key: values[0] for key, values in parse_qs(urlsplit(authorize).query).items()}
        base = authorize.split("/oauth2/")[0]
        assert self.http.get(authorize, timeout=10).status_code == 200
        answer = self.http.post(
            f"{base}/oauth2/v2.1/authorize/consent",
            data={**flow, "decision": "allow", "userId": user_id or "", "displayName": name},
            allow_redirects=False,
            timeout=10,
        )
        if answer.status_code == 200:  # the add-friend screen
            found = USER_ID.search(answer.text)
            user_id = found.group(1)
            answer = self.http.post(
                f"{base}/oauth2/v2.1/authorize/friend",
                data={**flow, "userId": user_id, "add": "1" if add else "0"},
                allow_redirects=False,
                timeout=10,
            )
        assert answer.status_code == 302, answer.text
        return Visit(answer.headers["Location"], answer, user_id)

    def back(self, callback_url: str) -> requests.Response:
        """Follow LINE's redirect to the CRM's callback (and on to its thank-you page)."""
        return self.http.get(callback_url, timeout=10)


@pytest.fixture
def visitor(crm_server):
    return Visitor(crm_server.url)
