"""Configuration comes from the environment; production refuses to start without secrets or its https address,
and development defaults never serve anyone but this computer."""

import pytest

from crm.config import Config, ConfigError, testing_config

pytestmark = pytest.mark.db_agnostic  # configuration is read before any database is touched


def test_production_refuses_to_start_without_secrets(tmp_path):
    with pytest.raises(ConfigError) as error:
        Config.from_environ({"LINE_CHANNEL_SECRET": "s"}, instance_path=str(tmp_path))
    assert "LINE_CHANNEL_ACCESS_TOKEN" in str(error.value)
    assert "SECRET_KEY" in str(error.value)
    assert "LINE_CHANNEL_SECRET" not in str(error.value).split(":")[1]


def test_production_reads_everything_from_the_environment(tmp_path):
    config = Config.from_environ(
        {
            "LINE_CHANNEL_SECRET": "s",
            "LINE_CHANNEL_ACCESS_TOKEN": "t",
            "SECRET_KEY": "k",
            "DATABASE_URL": "postgresql+psycopg://db/crm",
            "LINE_API_TIMEOUT_SECONDS": "1.5",
            "PUBLIC_BASE_URL": "https://crm.example.com",
        },
        instance_path=str(tmp_path),
    )
    assert config.ENV == "production"
    assert config.LINE_API_BASE == "https://api.line.me"
    assert config.DATABASE_URL == "postgresql+psycopg://db/crm"
    assert config.LINE_API_TIMEOUT_SECONDS == 1.5
    assert config.as_flask()["SESSION_COOKIE_SECURE"] is True


def test_development_fills_in_simulator_defaults(tmp_path):
    config = Config.from_environ({"CRM_ENV": "development"}, instance_path=str(tmp_path))
    assert config.LINE_API_BASE.startswith("http://127.0.0.1")
    assert config.LINE_CHANNEL_SECRET and config.SECRET_KEY
    assert config.DATABASE_URL == f"sqlite:///{tmp_path.resolve()}/crm.sqlite3"


PRODUCTION = {
    "LINE_CHANNEL_SECRET": "s",
    "LINE_CHANNEL_ACCESS_TOKEN": "t",
    "SECRET_KEY": "k",
    "PUBLIC_BASE_URL": "https://crm.example.com",
}


def test_the_missing_secrets_error_does_not_suggest_development_mode(tmp_path):
    with pytest.raises(ConfigError) as error:
        Config.from_environ({}, instance_path=str(tmp_path))
    message = str(error.value)
    assert "set CRM_ENV=development" not in message
    assert "only for trying the CRM on your own computer" in message


@pytest.mark.parametrize("url", [None, "", "/r", "http://crm.example.com", "crm.example.com"])
def test_production_needs_the_https_address_customers_open(tmp_path, url):
    environ = {key: value for key, value in PRODUCTION.items() if key != "PUBLIC_BASE_URL"}
    if url is not None:
        environ["PUBLIC_BASE_URL"] = url
    with pytest.raises(ConfigError) as error:
        Config.from_environ(environ, instance_path=str(tmp_path))
    assert "PUBLIC_BASE_URL" in str(error.value)


@pytest.mark.parametrize(("env", "secure"), [("production", True), ("staging", True), ("development", False)])
def test_cookies_are_secure_in_every_mode_but_development(tmp_path, env, secure):
    config = Config.from_environ({**PRODUCTION, "CRM_ENV": env}, instance_path=str(tmp_path)).as_flask()
    assert config["SESSION_COOKIE_SECURE"] is secure and config["REMEMBER_COOKIE_SECURE"] is secure


def test_tests_run_with_secure_cookies():
    assert testing_config("sqlite://").as_flask()["SESSION_COOKIE_SECURE"] is True


def test_a_negative_proxy_count_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        Config.from_environ({**PRODUCTION, "TRUSTED_PROXY_COUNT": "-1"}, instance_path=str(tmp_path))
