"""Menus live on LINE: the friends the CRM linked to one, unpublishing, the default menu, and deleting old
LINE menus and aliases without failing the action that replaced them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import delete, update
from sqlmodel import Session, select

from crm.errors import N_
from crm.friends.models import Friend
from crm.richmenus import rules as richmenu_rules
from crm.richmenus.drafts import get_menu
from crm.richmenus.layouts import RichMenuError
from crm.richmenus.limits import ALIAS_DELETE, DELETE, check_budget, count_calls, line_call
from crm.richmenus.models import RichMenu, RichMenuLink, RichMenuStatus
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

BULK = 500


def linked_batches(session: Session, menu_id: int, size: int = BULK) -> Iterator[list[tuple[int, str]]]:
    """(friend id, LINE user id) of the friends the CRM linked to this menu, 500 at a time."""
    after = 0
    while True:
        batch = session.exec(
            select(RichMenuLink.friend_id, Friend.line_user_id)
            .join(Friend, Friend.id == RichMenuLink.friend_id)
            .where(RichMenuLink.rich_menu_id == menu_id, RichMenuLink.friend_id > after)
            .order_by(RichMenuLink.friend_id)
            .limit(size)
        ).all()
        if not batch:
            return
        yield [tuple(row) for row in batch]
        after = batch[-1][0]


def delete_quietly(calls: list[str], client, line_menu_id: str) -> list[tuple[str, dict]]:
    """Delete a LINE menu (noted in `calls`); a failure becomes a warning (the menu is no longer shown to anyone)."""
    calls.append(DELETE)
    try:
        with line_call():
            client.delete_rich_menu(line_menu_id)
    except RichMenuError as error:
        return [
            (
                N_("The old LINE menu %(id)s could not be deleted: %(problem)s"),
                {"id": line_menu_id, "problem": error.problems[0]},
            )
        ]
    return []


def delete_alias_quietly(calls: list[str], client, alias_id: str) -> list[tuple[str, dict]]:
    """Delete a LINE tab alias (noted in `calls`); a failure becomes a warning."""
    calls.append(ALIAS_DELETE)
    try:
        with line_call():
            client.delete_rich_menu_alias(alias_id)
    except RichMenuError as error:
        return [
            (
                N_("The old tab ID %(alias)s could not be deleted on LINE: %(problem)s"),
                {"alias": alias_id, "problem": error.problems[0]},
            )
        ]
    return []


@dataclass
class UnpublishResult:
    """How many friends were unlinked, and what could not be cleaned up on LINE."""

    unlinked: int
    warnings: list[tuple[str, dict]] = field(default_factory=list)


def unpublish(session: Session, *, client, menu_id: int, actor: Actor) -> UnpublishResult:
    """Unlink everyone the CRM linked to the menu, clear it as default, and delete it on LINE.

    Every LINE call comes before the first write, so none is made inside a write transaction."""
    menu, now = get_menu(session, menu_id), utcnow()
    if menu.status != RichMenuStatus.PUBLISHED:
        raise RichMenuError(N_("This menu is not published."))
    check_budget(session, now=now, delete=1, alias_delete=1 if menu.published_alias_id else 0)
    friend_ids, calls = _unlink_everyone(session, client, menu), []
    warnings = delete_alias_quietly(calls, client, menu.published_alias_id) if menu.published_alias_id else []
    warnings += delete_quietly(calls, client, menu.line_menu_id)
    count_calls(session, calls)
    session.exec(delete(RichMenuLink).where(RichMenuLink.rich_menu_id == menu.id))
    record(
        session,
        actor=actor,
        action="richmenu.unpublished",
        target_type="rich_menu",
        target_id=menu.id,
        before={"line_menu_id": menu.line_menu_id, "default": menu.is_default},
        after={"unlinked": len(friend_ids), "warnings": [w[0] for w in warnings]},
    )
    menu.status, menu.line_menu_id, menu.is_default = RichMenuStatus.DRAFT, None, False
    menu.published_revision, menu.published_alias_id, menu.published_at = None, None, None
    session.add(menu)
    session.flush()
    richmenu_rules.queue_friends(session, friend_ids)
    return UnpublishResult(len(friend_ids), warnings)


def _unlink_everyone(session: Session, client, menu: RichMenu) -> list[int]:
    """Unlink the menu's friends on LINE and clear it as default; return the friends unlinked."""
    friend_ids = []
    for batch in linked_batches(session, menu.id):
        with line_call():
            client.bulk_unlink_rich_menu([user_id for _friend_id, user_id in batch])
        friend_ids += [friend_id for friend_id, _user_id in batch]
    if menu.is_default:
        with line_call():
            client.clear_default_rich_menu()
    return friend_ids


def set_default(session: Session, *, client, menu_id: int, actor: Actor) -> None:
    """Make a published menu every friend's default."""
    menu = get_menu(session, menu_id)
    if menu.status != RichMenuStatus.PUBLISHED:
        raise RichMenuError(N_("Publish the menu before making it the default."))
    with line_call():
        client.set_default_rich_menu(menu.line_menu_id)
    session.exec(update(RichMenu).values(is_default=RichMenu.id == menu.id))
    record(
        session,
        actor=actor,
        action="richmenu.default_set",
        target_type="rich_menu",
        target_id=menu.id,
        after={"line_menu_id": menu.line_menu_id},
    )


def clear_default(session: Session, *, client, actor: Actor) -> None:
    """Remove the default menu (friends without a per-user menu then see none)."""
    with line_call():
        client.clear_default_rich_menu()
    session.exec(update(RichMenu).values(is_default=False))
    record(session, actor=actor, action="richmenu.default_cleared", target_type="rich_menu")
