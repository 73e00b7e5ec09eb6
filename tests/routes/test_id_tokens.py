"""ID tokens: what the CRM accepts (HS256 with the Login channel secret, LINE's issuer, this channel as audience,
not expired, this visit's nonce) and the simulator's token endpoint answering as LINE does."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from crm.routes.line_login import ISSUER, LoginChannel, LoginError, exchange_code, verify_id_token
from tests.routes.conftest import LOGIN_SETTINGS

SECRET = LOGIN_SETTINGS["LINE_LOGIN_CHANNEL_SECRET"]
CHANNEL = LoginChannel(LOGIN_SETTINGS["LINE_LOGIN_CHANNEL_ID"], SECRET, "http://unused", "http://unused")
USER = "U" + "1" * 32


def _token(secret: str = SECRET, **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": USER, "aud": CHANNEL.channel_id, "exp": now + 60, "iat": now, "nonce": "n1"}
    claims.update(changes)
    return jwt.encode({key: value for key, value in claims.items() if value is not None}, secret, algorithm="HS256")


def test_a_genuine_token_gives_the_line_user_id():
    assert verify_id_token(CHANNEL, _token(), nonce="n1") == USER


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: _token(secret="another-channel-secret-of-32-bytes!"), "InvalidSignatureError"),
        (lambda: _token(aud="1234567890"), "InvalidAudienceError"),
        (lambda: _token(iss="https://evil.example"), "InvalidIssuerError"),
        (lambda: _token(exp=int(time.time()) - 3600), "expired"),
        (lambda: _token(nonce="another visit"), "nonce"),
        (lambda: _token(nonce=None), "MissingRequiredClaimError"),
        (lambda: jwt.encode({"sub": USER}, "", algorithm="none"), "InvalidAlgorithmError"),
    ],
    ids=["bad-signature", "wrong-aud", "wrong-iss", "expired", "wrong-nonce", "no-nonce", "unsigned"],
)
def test_an_untrustworthy_token_is_refused(make_token, code):
    # Made when the test runs: a token made at collection would have expired by now in a long run.
    with pytest.raises(LoginError) as refused:
        verify_id_token(CHANNEL, make_token(), nonce="n1")
    assert refused.value.code == code


@pytest.fixture
def sim_channel(simulator, sim):
    return LoginChannel(LOGIN_SETTINGS["LINE_LOGIN_CHANNEL_ID"], SECRET, "", simulator.url)


def _code(simulator, sim, redirect_uri: str = "https://shop.example/i/callback") -> str:
    """A code from the simulator's authorize flow for a user already a friend (no add-friend screen)."""
    user_id = sim.create_user("テスト")
    sim.follow(user_id)
    flow = {
        "client_id": LOGIN_SETTINGS["LINE_LOGIN_CHANNEL_ID"],
        "redirect_uri": redirect_uri,
        "state": "s",
        "nonce": "n1",
        "bot_prompt": "aggressive",
        "scope": "openid profile",
    }
    answer = requests.post(
        f"{simulator.url}/oauth2/v2.1/authorize/consent",
        data={**flow, "decision": "allow", "userId": user_id},
        allow_redirects=False,
        timeout=10,
    )
    return answer.headers["Location"].split("code=")[1].split("&")[0]


def test_the_simulator_signs_id_tokens_as_line_does(simulator, sim, sim_channel):
    code = _code(simulator, sim)
    token = exchange_code(sim_channel, code=code, redirect_uri="https://shop.example/i/callback")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert verify_id_token(sim_channel, token, nonce="n1").startswith("U")


def test_the_simulator_refuses_a_reused_code_a_wrong_redirect_and_a_wrong_secret(simulator, sim, sim_channel):
    code = _code(simulator, sim)
    exchange_code(sim_channel, code=code, redirect_uri="https://shop.example/i/callback")
    with pytest.raises(LoginError) as reused:
        exchange_code(sim_channel, code=code, redirect_uri="https://shop.example/i/callback")
    assert reused.value.code == "invalid_grant"
    with pytest.raises(LoginError) as wrong_redirect:
        exchange_code(sim_channel, code=_code(simulator, sim), redirect_uri="https://elsewhere.example/cb")
    assert wrong_redirect.value.code == "invalid_grant"
    wrong_secret = LoginChannel(sim_channel.channel_id, "not-the-secret-of-this-channel!!", "", simulator.url)
    with pytest.raises(LoginError) as bad_client:
        exchange_code(wrong_secret, code=_code(simulator, sim), redirect_uri="https://shop.example/i/callback")
    assert bad_client.value.code == "invalid_client"
    with pytest.raises(LoginError) as unknown:
        exchange_code(sim_channel, code="made-up", redirect_uri="https://shop.example/i/callback")
    assert unknown.value.code == "invalid_grant"


def test_bot_prompt_normal_adds_the_friend_from_the_consent_screen(simulator, sim):
    user_id = sim.create_user("トグル")
    flow = {
        "client_id": LOGIN_SETTINGS["LINE_LOGIN_CHANNEL_ID"],
        "redirect_uri": "https://shop.example/i/callback",
        "state": "s",
        "nonce": "n1",
        "bot_prompt": "normal",
        "scope": "openid profile",
    }
    page = requests.get(f"{simulator.url}/oauth2/v2.1/authorize", params={**flow, "response_type": "code"}, timeout=10)
    assert 'id="add-friend-toggle"' in page.text
    answer = requests.post(
        f"{simulator.url}/oauth2/v2.1/authorize/consent",
        data={**flow, "decision": "allow", "userId": user_id, "addFriend": "1"},
        allow_redirects=False,
        timeout=10,
    )
    assert "friendship_status_changed=true" in answer.headers["Location"]
    assert sim.get_user(user_id)["status"] == "following"
    assert [entry["events"][0]["type"] for entry in sim.webhook_log()] == ["follow"]
