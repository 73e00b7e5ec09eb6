"""Keeping each conversation's latest message ids current, so the list is one indexed walk of `conversation`.

Messages are written by the webhook and the 1:1 chat, which know nothing of the inbox; the inbox catches up on
them before it lists conversations: it reads the messages after the newest id it already holds (a short primary
key range), and moves the rows of the friends they belong to. The range starts `SYNC_MARGIN` ids back, so a
message whose transaction committed after a higher id had been seen is still picked up."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select

from crm.friends.models import Message, MessageDirection
from crm.inbox.models import Conversation
from crm.sql import insert_for

SYNC_MARGIN = 1000


def sync_conversations(session: Session) -> int:
    """Bring the conversations of recently written messages up to date; return how many rows moved."""
    newest = session.exec(select(func.max(Conversation.last_message_id))).one() or 0
    # A primary-key range of messages, each checked against its conversation by primary key, keeping only those
    # newer than what the conversation holds; folded here: grouping in SQL lets SQLite prefer walking a whole
    # friend index.
    held_last = func.coalesce(Conversation.last_message_id, 0)
    recent = session.exec(
        select(Message.friend_id, Message.id, Message.direction)
        .select_from(Message)
        .outerjoin(Conversation, Conversation.friend_id == Message.friend_id)
        .where(
            Message.id > newest - SYNC_MARGIN,
            or_(
                Conversation.friend_id.is_(None),
                Message.id > held_last,
                and_(Message.direction == MessageDirection.INCOMING, Message.id > Conversation.last_incoming_id),
            ),
        )
    ).all()
    folded: dict[int, list[int]] = {}
    for friend_id, message_id, direction in recent:
        ids = folded.setdefault(friend_id, [0, 0])
        ids[0] = max(ids[0], message_id)
        if direction == MessageDirection.INCOMING:
            ids[1] = max(ids[1], message_id)
    moved = sorted((friend_id, last_id, last_in) for friend_id, (last_id, last_in) in folded.items())
    for friend_id, last_id, last_in in moved:  # friend order: concurrent catch-ups lock rows in the same order
        _raise_ids(session, friend_id=friend_id, last_id=last_id, last_in=last_in)
    return len(moved)


def _raise_ids(session: Session, *, friend_id: int, last_id: int, last_in: int) -> None:
    """Upsert the conversation's latest ids, never lowering them (a racing catch-up may have gone further)."""
    table = Conversation.__table__
    statement = insert_for(session, table).values(
        friend_id=friend_id, last_message_id=last_id, last_incoming_id=last_in, last_read_message_id=0
    )
    held_last = func.coalesce(table.c.last_message_id, 0)
    statement = statement.on_conflict_do_update(
        index_elements=["friend_id"],
        set_={
            "last_message_id": case(
                (statement.excluded.last_message_id > held_last, statement.excluded.last_message_id), else_=held_last
            ),
            "last_incoming_id": case(
                (statement.excluded.last_incoming_id > table.c.last_incoming_id, statement.excluded.last_incoming_id),
                else_=table.c.last_incoming_id,
            ),
        },
    )
    session.connection().execute(statement)


def repair(session: Session, friend_ids: list[int]) -> None:
    """Recompute the latest ids of these conversations from their messages (a refused reply was deleted)."""
    for friend_id in sorted(friend_ids):
        last_id, last_in = session.exec(
            select(
                func.max(Message.id),
                func.coalesce(func.max(case((Message.direction == MessageDirection.INCOMING, Message.id))), 0),
            ).where(Message.friend_id == friend_id)
        ).one()
        conversation = session.get(Conversation, friend_id)
        conversation.last_message_id, conversation.last_incoming_id = last_id, last_in
        session.add(conversation)
