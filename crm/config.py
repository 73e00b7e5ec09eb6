"""Configuration read from the environment, with development and test presets.

Development mode (CRM_ENV=development) fills in the simulator's public secrets and plain-HTTP addresses, so the
app then answers only requests from this computer (see crm.security); every other mode needs real secrets."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

REQUIRED_IN_PRODUCTION = ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "SECRET_KEY", "PUBLIC_BASE_URL")
DEVELOPMENT = "development"
WEBHOOK_HANDLINGS = ("queued", "inline")

SIMULATOR_DEFAULTS = {
    "LINE_CHANNEL_SECRET": "simulator-channel-secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "simulator-access-token",
    "LINE_API_BASE": "http://127.0.0.1:5001",
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "OUTBOUND_ALLOW_PRIVATE_TARGETS": True,  # webhook receivers and the relay may run on this machine
}


class ConfigError(RuntimeError):
    """Raised when the environment cannot make a valid configuration."""


@dataclass
class Config:
    """Settings of one app instance; `as_flask()` turns them into Flask config keys."""

    ENV: str = "production"
    LINE_CHANNEL_SECRET: str = ""
    LINE_CHANNEL_ACCESS_TOKEN: str = ""
    LINE_API_BASE: str = "https://api.line.me"
    DATABASE_URL: str = ""
    SECRET_KEY: str = ""
    PUBLIC_BASE_URL: str = ""
    LINE_API_TIMEOUT_SECONDS: float = 5.0
    WEBHOOK_MAX_BYTES: int = 2 * 1024 * 1024
    # "queued": /callback answers once the events are stored and a consumer acts on them right after; "inline":
    # it acts on them before answering (the tests' default, so they can check the effects at once)
    WEBHOOK_HANDLING: str = "queued"
    PROFILE_FETCH_MAX_ATTEMPTS: int = 8
    PROFILE_FETCH_CONCURRENCY: int = 16  # profile requests to LINE in flight per worker
    # Profile requests per second per worker process: LINE allows 2,000 a second per channel, so the workers
    # together (and the scenarios' name fetches, which share this pace) must stay under that.
    LINE_PROFILE_REQUESTS_PER_SECOND: float = 1000.0
    BROADCAST_APPROVAL_THRESHOLD: int = 10000  # more estimated recipients than this: a second person approves
    BROADCAST_MISSED_GRACE: int = 3600  # seconds late after which a scheduled broadcast is missed
    DELIVERY_CONCURRENCY: int = 8  # requests to LINE in flight per worker
    DELIVERY_LEASE_SECONDS: int = 60  # a claimed request is retried by others after this
    DELIVERY_PAUSE_PROBE_SECONDS: int = 600  # a send paused by LINE's monthly limit is retried after this
    DELIVERY_MAX_ATTEMPTS: int = 12
    LINE_WEBHOOK_RELAY_URL: str = ""  # forward LINE's webhooks unchanged to this URL too (empty: off)
    WEBHOOK_MAX_ATTEMPTS: int = 8  # outbound webhooks and the relay give up after this many tries
    WEBHOOK_TIMEOUT_SECONDS: float = 5.0  # the whole request (connect, send, answer), not each socket read
    OUTBOUND_ALLOW_PRIVATE_TARGETS: bool = False  # webhook and relay URLs may reach loopback and private networks
    RELAY_FAILED_RETENTION_DAYS: int = 14  # relay items that failed for good are deleted after this
    # LINE event payloads (message texts included) are blanked after this many days; 0 keeps them forever
    WEBHOOK_PAYLOAD_RETENTION_DAYS: int = 30
    IMPORT_MAX_BYTES: int = 5 * 1024 * 1024  # largest CSV the import accepts
    NEUTRAL_ADDRESS: str = "お客様"  # {name} (with さん/様…) when a friend's name is unknown
    # Inflow routes: a LINE Login channel linked to the bot (same provider); empty ID: routes count visits only
    LINE_LOGIN_CHANNEL_ID: str = ""
    LINE_LOGIN_CHANNEL_SECRET: str = ""
    LINE_LOGIN_AUTHORIZE_URL: str = "https://access.line.me/oauth2/v2.1/authorize"
    LINE_LOGIN_API_BASE: str = "https://api.line.me"  # the token endpoint's host
    LINE_ADD_FRIEND_URL: str = ""  # the account's add-friend URL, e.g. https://line.me/R/ti/p/@xxxx
    # Images and video previews friends sent, kept once read from LINE (empty: media-cache in the instance folder)
    CONTENT_CACHE_DIR: str = ""
    CONTENT_CACHE_MAX_BYTES: int = 512 * 1024 * 1024  # the oldest kept go first past this
    TRUSTED_PROXY_COUNT: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto headers are believed
    TESTING: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ=None, instance_path: str | None = None) -> Config:
        """Build a configuration from environment variables; refuse a production start without secrets."""
        environ = os.environ if environ is None else environ
        env = environ.get("CRM_ENV", "production")
        values = {f.name: environ[f.name] for f in fields(cls) if f.name in environ and f.name != "extra"}
        values["ENV"] = env
        if env == DEVELOPMENT:
            for key, default in SIMULATOR_DEFAULTS.items():
                values.setdefault(key, default)
            values.setdefault("SECRET_KEY", secrets.token_hex(32))
        else:
            _check_production(values)
        config = cls(**_coerce(cls, values))
        if config.TRUSTED_PROXY_COUNT < 0:
            raise ConfigError("TRUSTED_PROXY_COUNT must be 0 (no proxy in front) or the number of proxies in front.")
        if config.WEBHOOK_HANDLING not in WEBHOOK_HANDLINGS:
            raise ConfigError("WEBHOOK_HANDLING must be one of: " + ", ".join(WEBHOOK_HANDLINGS) + ".")
        if not config.DATABASE_URL:
            folder = Path(instance_path or "instance")
            folder.mkdir(parents=True, exist_ok=True)
            config.DATABASE_URL = f"sqlite:///{(folder / 'crm.sqlite3').resolve()}"
        return config

    def as_flask(self) -> dict:
        """Return the Flask config mapping for these settings."""
        mapping = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        mapping.update(self.extra)
        mapping["MAX_CONTENT_LENGTH"] = mapping.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
        mapping["SESSION_COOKIE_HTTPONLY"] = True
        mapping["SESSION_COOKIE_SAMESITE"] = "Lax"
        mapping["SESSION_COOKIE_SECURE"] = self.ENV != DEVELOPMENT
        mapping["REMEMBER_COOKIE_SECURE"] = self.ENV != DEVELOPMENT
        mapping["REMEMBER_COOKIE_HTTPONLY"] = True
        return mapping


def _check_production(values: dict) -> None:
    """Refuse to start a server without its secrets or without the https address customers open."""
    missing = [name for name in REQUIRED_IN_PRODUCTION if not values.get(name)]
    if missing:
        raise ConfigError(
            "Missing required environment variable(s): "
            + ", ".join(missing)
            + ". Set them in the server's environment (the README lists them). CRM_ENV=development is only for"
            " trying the CRM on your own computer with the LINE simulator: it uses public test secrets."
        )
    base = urlsplit(values["PUBLIC_BASE_URL"])
    if base.scheme != "https" or not base.netloc:
        raise ConfigError(
            "PUBLIC_BASE_URL must be the https:// address customers open, such as https://crm.example.com:"
            " links in messages are built from it."
        )


def _coerce(cls, values: dict) -> dict:
    """Convert environment strings to the dataclass field types."""
    types = {f.name: f.type for f in fields(cls)}
    out = {}
    for name, value in values.items():
        kind = types[name]
        if kind in ("float", float):
            value = float(value)
        elif kind in ("int", int):
            value = int(value)
        elif kind in ("bool", bool) and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes")
        out[name] = value
    return out


def testing_config(database_url: str, **overrides) -> Config:
    """Configuration for tests: simulator secrets, a given database, CSRF left on."""
    base = dict(
        SIMULATOR_DEFAULTS,
        ENV="testing",
        TESTING=True,
        DATABASE_URL=database_url,
        SECRET_KEY="test-secret-key",
        LINE_API_TIMEOUT_SECONDS=2.0,
        WEBHOOK_HANDLING="inline",
    )
    extra = overrides.pop("extra", {})
    base.update(overrides)
    return Config(**base, extra=extra)
