"""The conversation list: friends who wrote or were written to, newest message first, with unread counts and the
inbox's filters; and the shared read marker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, or_
from sqlmodel import Session, select

from crm.errors import N_
from crm.friends import search_key
from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.inbox.models import Conversation
from crm.inbox.sync import repair
from crm.sql import contains_pattern, insert_for
from crm.tags.models import FriendTag

LIST_SIZE = 50
# The staff attention mark (Friend.attention) in words, in the order the filter offers them.
ATTENTION_LABELS = {"needed": N_("Needs attention"), "in_progress": N_("Being handled"), "done": N_("Handled")}
ATTENTION_STATES = tuple(ATTENTION_LABELS)


@dataclass(frozen=True)
class InboxFilter:
    """What the list shows: an attention state, unread only, assigned to the viewer, one tag, a name."""

    attention: str | None = None
    unread: bool = False
    mine: bool = False
    tag_id: int | None = None
    search: str = ""


@dataclass(frozen=True)
class ConversationRow:
    """One line of the list."""

    friend: Friend
    last_message: Message
    unread: int
    assigned_staff_id: int | None


def list_conversations(
    session: Session, *, flt: InboxFilter, staff_id: int, before_id: int | None = None, limit: int = LIST_SIZE
) -> list[ConversationRow]:
    """Conversations newest message first (call `sync_conversations` before); `before_id` (a last message id)
    pages to older ones."""
    query = (
        select(Friend, Conversation)
        .join(Conversation, Conversation.friend_id == Friend.id)
        .where(Conversation.last_message_id.is_not(None), Friend.status != FriendStatus.ERASED)
    )
    if flt.attention in ATTENTION_STATES:
        query = query.where(Friend.attention == flt.attention)
    if flt.unread:
        query = query.where(Conversation.last_incoming_id > Conversation.last_read_message_id)
    if flt.mine:
        query = query.where(Conversation.assigned_staff_id == staff_id)
    if flt.tag_id:
        tagged = select(FriendTag.friend_id).where(FriendTag.friend_id == Friend.id, FriendTag.tag_id == flt.tag_id)
        query = query.where(tagged.exists())
    term = flt.search.replace(" ", "").replace("\u3000", "").strip()
    if term:
        name = func.replace(func.replace(Friend.display_name, " ", ""), "\u3000", "")
        reading = search_key.reading_form(term)  # the staff's reading (ふりがな) of the name, in any kana
        query = query.where(
            or_(
                func.lower(name).like(contains_pattern(term.lower()), escape="\\"),
                Friend.reading.like(contains_pattern(reading), escape="\\") if reading else false(),
            )
        )
    if before_id is not None:
        query = query.where(Conversation.last_message_id < before_id)
    rows = session.exec(query.order_by(Conversation.last_message_id.desc()).limit(limit)).all()
    last = {m.id: m for m in session.exec(select(Message).where(Message.id.in_([c.last_message_id for _, c in rows])))}
    gone = [friend.id for friend, conversation in rows if conversation.last_message_id not in last]
    if gone:  # a refused reply was deleted after the list had seen it: fix those rows, then list again
        repair(session, gone)
        return list_conversations(session, flt=flt, staff_id=staff_id, before_id=before_id, limit=limit)
    unread = unread_counts(session, [friend.id for friend, _ in rows])
    return [
        ConversationRow(
            friend, last[conversation.last_message_id], unread.get(friend.id, 0), conversation.assigned_staff_id
        )
        for friend, conversation in rows
    ]


def unread_counts(session: Session, friend_ids: list[int]) -> dict[int, int]:
    """Incoming messages after each conversation's read marker, for these friends."""
    if not friend_ids:
        return {}
    rows = session.exec(
        select(Message.friend_id, func.count())
        .select_from(Message)
        .outerjoin(Conversation, Conversation.friend_id == Message.friend_id)
        .where(
            Message.friend_id.in_(friend_ids),
            Message.direction == MessageDirection.INCOMING,
            Message.id > func.coalesce(Conversation.last_read_message_id, 0),
        )
        .group_by(Message.friend_id)
    ).all()
    return dict(rows)


def conversation_of(session: Session, friend_id: int) -> Conversation | None:
    return session.get(Conversation, friend_id)


def mark_read(session: Session, *, friend_id: int, at: datetime) -> None:
    """Move the shared read marker to the conversation's newest incoming message (never backwards).

    Not audited: reading is not a change to the friend, and it happens on every look."""
    newest = session.exec(
        select(func.max(Message.id)).where(
            Message.friend_id == friend_id, Message.direction == MessageDirection.INCOMING
        )
    ).one()
    if newest is None:
        return
    table = Conversation.__table__
    statement = insert_for(session, table).values(
        friend_id=friend_id, last_incoming_id=0, last_read_message_id=newest, read_at=at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["friend_id"],
        set_={"last_read_message_id": newest, "read_at": at},
        where=table.c.last_read_message_id < newest,
    )
    session.connection().execute(statement)
