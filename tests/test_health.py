"""GET /healthz reports the app and its database."""

from crm import create_app
from crm.config import testing_config


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(tmp_path):
    app = create_app(testing_config(f"sqlite:///{tmp_path}/missing/dir/crm.sqlite3"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
