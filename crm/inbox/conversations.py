"""The conversation list: friends who wrote or were written to, newest message first, with unread counts and the
inbox's filters; and the shared read marker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, func, literal, or_, union_all
from sqlmodel import Session, select

from crm.errors import N_
from crm.friends import search_key
from crm.friends.models import Friend, FriendStatus, Message, MessageDirection
from crm.inbox.models import Conversation
from crm.inbox.sync import repair
from crm.sql import contains_pattern, insert_for
from crm.tags.models import FriendTag

LIST_SIZE = 50
COUNTS_PER_QUERY = 100  # unread counts united in one statement (SQLite allows 500 at most)
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
    unread = unread_counts(session, [conversation for _, conversation in rows])
    return [
        ConversationRow(
            friend, last[conversation.last_message_id], unread.get(friend.id, 0), conversation.assigned_staff_id
        )
        for friend, conversation in rows
    ]


def unread_counts(session: Session, rows: list[Conversation]) -> dict[int, int]:
    """Incoming messages after each conversation's read marker, for these conversations.

    Only conversations whose newest incoming message is past the marker are counted, each by its own range of
    the (friend, direction, id) index: a few entries each, whatever the friend's history or the database's plan
    for a join would be."""
    pending = [row for row in rows if row.last_incoming_id > row.last_read_message_id]
    if not pending:
        return {}
    counts = [
        select(literal(row.friend_id).label("friend_id"), func.count().label("unread"))
        .select_from(Message)
        .where(
            Message.friend_id == row.friend_id,
            Message.direction == MessageDirection.INCOMING,
            Message.id > row.last_read_message_id,
        )
        for row in pending
    ]
    found = {}
    for start in range(0, len(counts), COUNTS_PER_QUERY):
        found.update(session.exec(union_all(*counts[start : start + COUNTS_PER_QUERY])).all())
    return {friend_id: unread for friend_id, unread in found.items() if unread}


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
