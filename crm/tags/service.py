"""Tags on friends. Every edge (console, bulk, surveys, clicks, API) adds and removes tags through here."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import and_, delete, func
from sqlmodel import Session, select, update

from crm.errors import N_, TranslatableError
from crm.sql import insert_for
from crm.staff.audit import Actor, record, record_many
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow


class TagError(TranslatableError):
    """A tag operation that cannot be done, with a message for the user."""


# Listeners run in the caller's transaction after friends gain or lose a tag: callback(session, tag_id=...,
# friend_ids=[...], added=True|False). On removal friend_ids may include friends who did not have the tag (a
# bulk call that was partly a no-op). Listeners write to the database only (no network calls); registering the
# same callback again has no effect (rich menus queue relinks here).
TagsChangedListener = Callable[..., None]
_listeners: list[TagsChangedListener] = []


def on_tags_changed(callback: TagsChangedListener) -> TagsChangedListener:
    """Register a listener for tag changes (registering the same callback twice has no effect)."""
    if callback not in _listeners:
        _listeners.append(callback)
    return callback


def _notify(session: Session, *, tag_id: int, friend_ids: list[int], added: bool) -> None:
    for callback in tuple(_listeners):
        callback(session, tag_id=tag_id, friend_ids=friend_ids, added=added)


def add_tag(session: Session, *, friend_id: int, tag_id: int, actor: Actor, audit: bool = True) -> bool:
    """Put a tag on a friend; return False if it was already there."""
    added = len(_insert_links(session, tag_id=tag_id, friend_ids=[friend_id], actor=actor))
    if added and audit:
        record(
            session,
            actor=actor,
            action="friend.tag_added",
            target_type="friend",
            target_id=friend_id,
            after={"tag_id": tag_id},
        )
    return added == 1


def remove_tag(session: Session, *, friend_id: int, tag_id: int, actor: Actor, audit: bool = True) -> bool:
    """Take a tag off a friend; return False if it was not there."""
    removed = _delete_links(session, tag_id=tag_id, friend_ids=[friend_id])
    if removed and audit:
        record(
            session,
            actor=actor,
            action="friend.tag_removed",
            target_type="friend",
            target_id=friend_id,
            before={"tag_id": tag_id},
        )
    return removed == 1


def add_tag_to_many(session: Session, *, friend_ids: Iterable[int], tag_id: int, actor: Actor) -> int:
    """Tag a batch of friends (bulk actions); return how many were newly tagged. The caller audits the bulk."""
    return len(_insert_links(session, tag_id=tag_id, friend_ids=list(friend_ids), actor=actor))


def add_tag_to_each(session: Session, *, friend_ids: Iterable[int], tag_id: int, actor: Actor) -> list[int]:
    """Put a tag on several friends at once, each newly tagged friend audited as `add_tag` does (the worker's
    batches of automatic actions); return the friends newly tagged."""
    tagged = _insert_links(session, tag_id=tag_id, friend_ids=list(friend_ids), actor=actor)
    targets = [(friend_id, None, {"tag_id": tag_id}) for friend_id in tagged]
    record_many(session, actor=actor, action="friend.tag_added", target_type="friend", targets=targets)
    return tagged


def remove_tag_from_many(session: Session, *, friend_ids: Iterable[int], tag_id: int) -> int:
    """Untag a batch of friends; return how many lost the tag."""
    return _delete_links(session, tag_id=tag_id, friend_ids=list(friend_ids))


def tag_ids_of(session: Session, friend_id: int) -> list[int]:
    """Return the ids of a friend's tags."""
    return list(session.exec(select(FriendTag.tag_id).where(FriendTag.friend_id == friend_id)).all())


def _insert_links(session: Session, *, tag_id: int, friend_ids: list[int], actor: Actor) -> list[int]:
    if not friend_ids:
        return []
    if session.get(Tag, tag_id) is None:
        raise TagError(N_("Tag %(id)s does not exist."), id=tag_id)
    now = utcnow()
    rows = [{"friend_id": fid, "tag_id": tag_id, "added_at": now, "added_by": actor.label[:120]} for fid in friend_ids]
    stmt = (
        insert_for(session, FriendTag.__table__)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["friend_id", "tag_id"])
        .returning(FriendTag.__table__.c.friend_id)
    )
    tagged = [row[0] for row in session.exec(stmt).all()]  # rowcount is -1 for ON CONFLICT on psycopg 3
    added = len(tagged)
    _adjust_count(session, tag_id, added)
    if added:
        _notify(session, tag_id=tag_id, friend_ids=tagged, added=True)
    return tagged


def _delete_links(session: Session, *, tag_id: int, friend_ids: list[int]) -> int:
    if not friend_ids:
        return 0
    stmt = delete(FriendTag).where(and_(FriendTag.tag_id == tag_id, FriendTag.friend_id.in_(friend_ids)))
    removed = session.exec(stmt).rowcount
    _adjust_count(session, tag_id, -removed)
    if removed:
        _notify(session, tag_id=tag_id, friend_ids=friend_ids, added=False)
    return removed


def _adjust_count(session: Session, tag_id: int, delta: int) -> None:
    if delta:
        session.exec(update(Tag).where(Tag.id == tag_id).values(friend_count=Tag.friend_count + delta))


def recount(session: Session, tag_id: int) -> int:
    """Recompute a tag's friend count from the links (repairs drift)."""
    count = session.exec(select(func.count()).select_from(FriendTag).where(FriendTag.tag_id == tag_id)).one()
    session.exec(update(Tag).where(Tag.id == tag_id).values(friend_count=count))
    return count
