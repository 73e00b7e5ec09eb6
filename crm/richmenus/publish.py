"""Publishing rich menus to LINE: a live menu is never edited; a new one replaces it, relinked, then deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from crm.errors import N_
from crm.line.errors import LineApiError
from crm.richmenus import rules as richmenu_rules
from crm.richmenus.drafts import aliases, areas_of, get_menu, image_of, publish_problems
from crm.richmenus.layouts import RichMenuError, line_menu
from crm.richmenus.limits import CREATE, check_budget, count_calls, line_call
from crm.richmenus.live import delete_alias_quietly, delete_quietly, linked_batches
from crm.richmenus.models import RichMenu, RichMenuLink, RichMenuStatus
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow
from crm.tracking import links as tracked_links


@dataclass
class PublishResult:
    """What publishing did on LINE."""

    line_menu_id: str
    replaced: str | None
    relinked: int
    queued: int
    warnings: list[tuple[str, dict]] = field(default_factory=list)


def menu_body(session: Session, *, menu_id: int, base_url: str = "") -> dict:
    """Check the menu can be published and build LINE's JSON for it; commit this before publish() calls LINE.

    URL areas open the destination through its anonymous tracked link (stored here, when a public base URL is
    set), so taps are counted; a shared menu cannot say who tapped."""
    menu = get_menu(session, menu_id)
    problems = publish_problems(session, menu)
    if problems:
        raise RichMenuError.many(problems)

    def tracked(uri: str) -> str:
        return tracked_links.anonymous_url(session, destination=uri, base_url=base_url, source=f"richmenu:{menu.id}")

    return line_menu(
        name=menu.name,
        chat_bar_text=menu.chat_bar_text,
        size=menu.size,
        selected=menu.selected,
        areas=areas_of(menu),
        link=tracked,
    )


def _create_on_line(session: Session, client, menu: RichMenu, body: dict, calls: list[str]) -> str:
    """Create the LINE menu and upload its image; a menu whose image fails is deleted again."""
    image = image_of(session, menu.id)
    calls.append(CREATE)
    with line_call():
        new_id = client.create_rich_menu(body)
    try:
        with line_call():
            client.set_rich_menu_image(new_id, image.data, image.content_type)
    except RichMenuError:
        delete_quietly(calls, client, new_id)
        raise
    return new_id


def _point_alias(client, alias_id: str | None, new_id: str, *, exists: bool) -> None:
    """Create the menu's tab alias, or move it to the new LINE menu."""
    if alias_id is None:
        return
    with line_call():
        if exists:
            client.update_rich_menu_alias(alias_id, new_id)
            return
        try:
            client.create_rich_menu_alias(alias_id, new_id)
        except LineApiError as error:
            if error.status != 400:
                raise
            client.update_rich_menu_alias(alias_id, new_id)  # left on LINE by an earlier attempt


def _go_live(session: Session, client, menu: RichMenu, new_id: str, *, default: bool, moved: list[list[str]]) -> int:
    """Make the new LINE menu the one friends see: default, per-user links, tab alias."""
    if default:
        with line_call():
            client.set_default_rich_menu(new_id)
    relinked = 0
    for batch in linked_batches(session, menu.id):
        user_ids = [user_id for _friend_id, user_id in batch]
        with line_call():
            client.bulk_link_rich_menu(new_id, user_ids)
        moved.append(user_ids)
        relinked += len(batch)
    _point_alias(client, menu.alias_id, new_id, exists=menu.published_alias_id == menu.alias_id)
    return relinked


def _default_line_id(session: Session) -> str | None:
    """The LINE id of the menu that is the default now, if the CRM set one."""
    return session.exec(
        select(RichMenu.line_menu_id).where(RichMenu.is_default, RichMenu.line_menu_id.is_not(None))
    ).first()


def _undo(
    client,
    menu: RichMenu,
    new_id: str,
    *,
    default: bool,
    previous_default: str | None,
    moved: list[list[str]],
    calls: list[str],
) -> None:
    """Best effort after a failed publish: restore the default and the friends' old menu, delete the new one."""
    try:
        with line_call():
            if default and previous_default:
                client.set_default_rich_menu(previous_default)
            elif default:
                client.clear_default_rich_menu()
            for user_ids in moved:
                if menu.line_menu_id:
                    client.bulk_link_rich_menu(menu.line_menu_id, user_ids)
                else:
                    client.bulk_unlink_rich_menu(user_ids)
    except RichMenuError:
        pass  # the failure that brought us here is what the user sees; both are audited below
    delete_quietly(calls, client, new_id)


def publish(session: Session, *, client, menu_id: int, body: dict, make_default: bool, actor: Actor) -> PublishResult:
    """Create the menu on LINE from `body` (menu_body()), go live (default, links, alias), delete the old menu.

    Every LINE call comes before the first write (limited calls are counted afterwards, failed ones too), so
    none is made inside a write transaction."""
    menu, now = get_menu(session, menu_id), utcnow()
    old_id, old_alias = menu.line_menu_id, menu.published_alias_id
    drop_alias = old_alias if old_alias and old_alias != menu.alias_id else None
    check_budget(session, now=now, create=1, delete=1 if old_id else 0, alias_delete=1 if drop_alias else 0)
    default, calls = make_default or menu.is_default, []
    try:
        new_id = _create_on_line(session, client, menu, body, calls)
        relinked = _go_live_or_undo(session, client, menu, new_id, default=default, calls=calls, actor=actor)
        warnings = delete_quietly(calls, client, old_id) if old_id else []
        warnings += delete_alias_quietly(calls, client, drop_alias) if drop_alias else []
    finally:
        count_calls(session, calls)
    warnings += _unpublished_tabs(session, menu)
    _mark_published(session, menu, new_id, default=default, now=now)
    queued = richmenu_rules.queue_for_menu(session, menu.id) if old_id is None else 0
    record(
        session,
        actor=actor,
        action="richmenu.published",
        target_type="rich_menu",
        target_id=menu.id,
        after={
            "line_menu_id": new_id,
            "replaced": old_id,
            "relinked": relinked,
            "default": default,
            "alias_id": menu.alias_id,
            "revision": menu.revision,
            "warnings": [w[0] for w in warnings],
        },
    )
    return PublishResult(new_id, old_id, relinked, queued, warnings)


def _go_live_or_undo(
    session: Session, client, menu: RichMenu, new_id: str, *, default: bool, calls: list[str], actor: Actor
) -> int:
    """Go live with the new LINE menu; when that fails, undo what was done on LINE, audit, and re-raise."""
    previous_default, moved = _default_line_id(session), []
    try:
        return _go_live(session, client, menu, new_id, default=default, moved=moved)
    except RichMenuError as error:
        _undo(client, menu, new_id, default=default, previous_default=previous_default, moved=moved, calls=calls)
        record(
            session,
            actor=actor,
            action="richmenu.publish_failed",
            target_type="rich_menu",
            target_id=menu.id,
            after={"line_menu_id": new_id, "error": str(error)},
        )
        raise


def _unpublished_tabs(session: Session, menu: RichMenu) -> list[tuple[str, dict]]:
    """Switch actions whose target menu is not on LINE yet (tapping them does nothing until it is)."""
    targets = aliases(session, except_menu=menu.id)
    return [
        (
            N_(
                "Area %(number)d switches to the tab “%(alias)s”, whose menu is not published yet; the tab "
                "works once it is."
            ),
            {"number": number, "alias": area.action.value},
        )
        for number, area in enumerate(areas_of(menu), start=1)
        if area.action and area.action.kind == "switch" and targets[area.action.value].line_menu_id is None
    ]


def _mark_published(session: Session, menu: RichMenu, new_id: str, *, default: bool, now: datetime) -> None:
    if default:
        session.exec(update(RichMenu).where(RichMenu.id != menu.id).values(is_default=False))
    session.exec(
        update(RichMenuLink).where(RichMenuLink.rich_menu_id == menu.id).values(line_menu_id=new_id, linked_at=now)
    )
    menu.status, menu.line_menu_id, menu.is_default = RichMenuStatus.PUBLISHED, new_id, default
    menu.published_revision, menu.published_alias_id, menu.published_at = menu.revision, menu.alias_id, now
    session.add(menu)
    session.flush()
