"""Property-based run of every documented operation (schemathesis) against the app served over HTTP: no server
errors on any input, documented status codes, and every response matches the OpenAPI document.
Bounded: EXAMPLES per operation, each operation on a fresh seeded database."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from crm import create_app
from crm.config import testing_config
from tests.api.helpers import bearer, seed
from tests.conftest import LiveServer
from tests.factories import make_token

EXAMPLES = 15


def _document() -> dict:
    """The OpenAPI document as the app serves it (it does not depend on the database)."""
    return create_app(testing_config("sqlite://")).test_client().get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def served(app):
    """The seeded app over real HTTP and an admin token."""
    seed(app)
    secret = make_token(app, "admin")
    server = LiveServer(app)
    yield server.url, secret
    server.stop()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms(case, served):
    url, secret = served
    case.call_and_validate(
        base_url=url,
        headers=bearer(secret),
        checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
    )
