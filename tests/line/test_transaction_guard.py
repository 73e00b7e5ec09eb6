"""No LINE call inside an open database write transaction: the tracking of open writes and the client's guard."""

import logging
import threading

import pytest
from sqlmodel import Session, select

from crm.db import get_engine, session_scope, write_transaction_open
from crm.friends.models import Friend
from crm.line.client import LineClient
from crm.line.errors import LineCallInTransaction
from crm.line.runtime import line_client


def new_friend(session: Session, user_id: str) -> None:
    session.add(Friend(line_user_id=user_id))
    session.flush()


def test_a_write_is_open_from_the_first_write_until_commit_or_rollback(app):
    engine = get_engine(app)
    with Session(engine) as session:
        session.exec(select(Friend)).all()
        assert not write_transaction_open()  # reads take no write lock
        new_friend(session, "U" + "1" * 32)
        assert write_transaction_open()
        session.commit()
        assert not write_transaction_open()
        new_friend(session, "U" + "2" * 32)
        assert write_transaction_open()
        session.rollback()
        assert not write_transaction_open()
    with session_scope(engine) as session:
        new_friend(session, "U" + "3" * 32)
        assert write_transaction_open()
    assert not write_transaction_open()


def test_a_write_in_another_thread_is_not_this_threads(app):
    engine, written, release = get_engine(app), threading.Event(), threading.Event()

    def writer():
        with Session(engine) as session:
            new_friend(session, "U" + "4" * 32)
            written.set()
            release.wait(10)
            session.rollback()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    assert not write_transaction_open()
    release.set()
    thread.join()


def test_the_test_apps_client_refuses_a_call_inside_a_write_and_calls_nothing(app, sim):
    user_id = sim.create_user("Hanako")
    with Session(get_engine(app)) as session:
        new_friend(session, user_id)
        with pytest.raises(LineCallInTransaction, match="push_message"):
            line_client(app).push_text(user_id, "hi", retry_key="0b4a9c52-3d55-4f3e-9a0e-1f9b2c7d8e6f")
        session.rollback()
    assert sim.requests_log(path="/v2/bot/message/push") == []
    line_client(app).push_text(user_id, "hi", retry_key="0b4a9c52-3d55-4f3e-9a0e-1f9b2c7d8e6f")
    assert len(sim.requests_log(path="/v2/bot/message/push")) == 1


def test_a_production_client_logs_the_call_and_makes_it(app, sim, caplog):
    client = LineClient(api_base=sim.base_url, access_token="simulator-access-token")
    user_id = sim.create_user("Taro")
    with Session(get_engine(app)) as session, caplog.at_level(logging.ERROR, logger="crm.line.client"):
        new_friend(session, user_id)
        client.push_text(user_id, "hi", retry_key="7c1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")
        session.rollback()
    assert "line_call_in_transaction method=push_message" in caplog.text
    assert len(sim.requests_log(path="/v2/bot/message/push")) == 1
