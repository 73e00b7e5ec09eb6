"""Configuration comes from the environment; production refuses to start without secrets."""

import pytest

from crm.config import Config, ConfigError

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
