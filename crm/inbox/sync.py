"""Keeping each conversation's latest message ids current, so the list is one indexed walk of `conversation`.

Messages are written by the webhook and the 1:1 chat, which know nothing of the inbox; the inbox catches up on
them before it lists conversations: it reads the messages after the newest id it already holds (a short primary
key range), and moves the rows of the friends they belong to. The range starts `SYNC_MARGIN` ids back, so a
message whose transaction committed after a higher id had been seen is still picked up."""

from __future__ import annotations

from sqlalchemy import case, func
from sqlmodel import Session, select

from crm.friends.models import Message, MessageDirection
from crm.inbox.models import Conversation
from crm.sql import insert_for

SYNC_MARGIN = 1000


def sync_conversations(session: Session) -> int:
    """Bring the conversations of recently written messages up to date; return how many rows moved."""
    newest = session.exec(select(func.max(Conversation.last_message_id))).one() or 0
    # A primary-key range, folded here: grouping in SQL lets SQLite prefer walking a whole friend index.
    recent = session.exec(
        select(Message.friend_id, Message.id, Message.direction).where(Message.id > newest - SYNC_MARGIN)
    ).all()
    folded: dict[int, list[int]] = {}
    for friend_id, message_id, direction in recent:
        ids = folded.setdefault(friend_id, [0, 0])
        ids[0] = max(ids[0], message_id)
        if direction == MessageDirection.INCOMING:
            ids[1] = max(ids[1], message_id)
    latest = sorted((friend_id, last_id, last_in) for friend_id, (last_id, last_in) in folded.items())
    if not latest:
        return 0
    held = {
        friend_id: (last_id or 0, last_in)
        for friend_id, last_id, last_in in session.exec(
            select(Conversation.friend_id, Conversation.last_message_id, Conversation.last_incoming_id).where(
                Conversation.friend_id.in_([r[0] for r in latest])
            )
        )
    }
    moved = [
        (friend_id, last_id, last_in)
        for friend_id, last_id, last_in in latest
        if last_id > held.get(friend_id, (0, 0))[0] or last_in > held.get(friend_id, (0, 0))[1]
    ]
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
