"""Fixtures for the webhooks, relay and followers import tests."""

import pytest

from tests.outbound.receiver import Receiver


@pytest.fixture
def receiver():
    """A live HTTP receiver for deliveries."""
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def engine(app):
    from crm.db import get_engine

    return get_engine(app)
