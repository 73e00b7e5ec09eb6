"""LINE Login's web flow for route attribution: the authorize URL, the code exchanged at the token endpoint and
the ID token verified (HS256 with the Login channel's secret; issuer, audience, expiry and nonce)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
import requests

from crm.errors import N_, TranslatableError

ISSUER = "https://access.line.me"
TOKEN_PATH = "/oauth2/v2.1/token"
TIMEOUT_SECONDS = 5.0
LEEWAY_SECONDS = 30  # clock difference tolerated on exp and iat


class LoginError(TranslatableError):
    """A login that cannot be trusted or completed; `code` says which check failed (for logs and tests)."""


def refused(msgid: str, code: str) -> LoginError:
    """A LoginError naming the failed check."""
    error = LoginError(msgid)
    error.code = code[:40]
    return error


@dataclass(frozen=True)
class LoginChannel:
    """The LINE Login channel linked to the bot."""

    channel_id: str
    channel_secret: str
    authorize_url: str
    api_base: str

    @classmethod
    def from_config(cls, config) -> LoginChannel | None:
        """The channel from the app's settings, or None when none is configured."""
        if not (config.get("LINE_LOGIN_CHANNEL_ID") and config.get("LINE_LOGIN_CHANNEL_SECRET")):
            return None
        return cls(
            channel_id=str(config["LINE_LOGIN_CHANNEL_ID"]),
            channel_secret=str(config["LINE_LOGIN_CHANNEL_SECRET"]),
            authorize_url=str(config["LINE_LOGIN_AUTHORIZE_URL"]),
            api_base=str(config["LINE_LOGIN_API_BASE"]).rstrip("/"),
        )


def authorize_url(channel: LoginChannel, *, redirect_uri: str, state: str, nonce: str) -> str:
    """Where the visitor logs in: consent, then the separate add-friend screen (bot_prompt=aggressive)."""
    query = {
        "response_type": "code",
        "client_id": channel.channel_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": "openid profile",
        "nonce": nonce,
        "bot_prompt": "aggressive",
    }
    return f"{channel.authorize_url}?{urlencode(query)}"


def exchange_code(channel: LoginChannel, *, code: str, redirect_uri: str) -> str:
    """The ID token LINE gives for an authorization code (a network call: hold no transaction open)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": channel.channel_id,
        "client_secret": channel.channel_secret,
    }
    try:
        response = requests.post(channel.api_base + TOKEN_PATH, data=form, timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        raise refused(N_("LINE could not be reached. Please try again."), "unreachable") from None
    body = _json(response)
    if response.status_code != 200 or not isinstance(body.get("id_token"), str):
        raise refused(N_("LINE did not accept this login. Please start again."), str(body.get("error")))
    return body["id_token"]


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def verify_id_token(channel: LoginChannel, id_token: str, *, nonce: str) -> str:
    """The LINE user id (`sub`) of a genuine, current ID token issued to this channel for this nonce."""
    try:
        claims = jwt.decode(
            id_token,
            channel.channel_secret,
            algorithms=["HS256"],
            audience=channel.channel_id,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]},
        )
    except jwt.ExpiredSignatureError:
        raise refused(N_("This login has expired. Please start again."), "expired") from None
    except jwt.InvalidTokenError as error:
        raise refused(N_("This login could not be verified."), type(error).__name__) from None
    if claims.get("nonce") != nonce:
        raise refused(N_("This login could not be verified."), "nonce")
    subject = claims.get("sub")
    if not (isinstance(subject, str) and subject.startswith("U") and len(subject) <= 64):
        raise refused(N_("This login could not be verified."), "sub")
    return subject
