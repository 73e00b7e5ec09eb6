"""Rich menu drafts: create, change, attach an image, delete; every change audited, nothing sent to LINE here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm.errors import N_
from crm.postback_actions import service as postback_actions
from crm.richmenus.image_check import check_image
from crm.richmenus.layouts import (
    CUSTOM,
    LAYOUTS,
    Area,
    RichMenuError,
    apply_layout,
    clean_alias,
    clean_areas,
    clean_texts,
    dump_areas,
    load_areas,
    size_of,
)
from crm.richmenus.models import RichMenu, RichMenuImage, RichMenuStatus
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow


class MenuNotFound(LookupError):
    """No rich menu with that id."""


@dataclass(frozen=True)
class MenuSpec:
    """What the builder form describes."""

    name: str
    chat_bar_text: str
    size: str
    layout: str
    selected: bool = False
    alias_id: str | None = None
    areas: list[Area] = field(default_factory=list)


def list_menus(session: Session) -> list[RichMenu]:
    """Every rich menu, newest first."""
    return list(session.exec(select(RichMenu).order_by(RichMenu.id.desc())))


def get_menu(session: Session, menu_id: int) -> RichMenu:
    """The menu, or MenuNotFound."""
    menu = session.get(RichMenu, menu_id)
    if menu is None:
        raise MenuNotFound(menu_id)
    return menu


def areas_of(menu: RichMenu) -> list[Area]:
    """The menu's areas."""
    return load_areas(menu.areas)


def image_of(session: Session, menu_id: int) -> RichMenuImage | None:
    """The menu's stored image, if any."""
    return session.get(RichMenuImage, menu_id)


def has_unpublished_changes(menu: RichMenu) -> bool:
    """A published menu whose draft changed since; publishing again makes a new LINE menu."""
    return menu.status == RichMenuStatus.PUBLISHED and menu.revision != menu.published_revision


def aliases(session: Session, *, except_menu: int | None = None) -> dict[str, RichMenu]:
    """Menus by their tab ID (alias), for switch actions."""
    menus = session.exec(select(RichMenu).where(RichMenu.alias_id.is_not(None)))
    return {menu.alias_id: menu for menu in menus if menu.id != except_menu}


def snapshot(menu: RichMenu) -> dict:
    """The audited state of a menu."""
    return {
        "name": menu.name,
        "chat_bar_text": menu.chat_bar_text,
        "size": menu.size,
        "layout": menu.layout,
        "selected": menu.selected,
        "alias_id": menu.alias_id,
        "areas": menu.areas,
    }


def _check_switch_targets(session: Session, areas: list[Area], menu_id: int | None) -> None:
    known = aliases(session, except_menu=menu_id)
    for number, area in enumerate(areas, start=1):
        if area.action is not None and area.action.kind == "switch" and area.action.value not in known:
            raise RichMenuError(
                N_("Area %(number)d: no other menu has the tab ID “%(alias)s”."), number=number, alias=area.action.value
            )


def _check_alias_free(session: Session, alias_id: str | None, menu_id: int | None) -> None:
    if alias_id is not None and alias_id in aliases(session, except_menu=menu_id):
        raise RichMenuError(N_("Another menu already uses the tab ID “%(alias)s”."), alias=alias_id)


def _collect(problems: list, check, *args):
    """Run one check, adding its problems to the list instead of stopping; return its result."""
    try:
        return check(*args)
    except RichMenuError as error:
        problems += error.problems
        return None


def clean_spec(session: Session, spec: MenuSpec, menu_id: int | None = None) -> MenuSpec:
    """Check a builder spec: texts, size, layout, areas, tab ID; raise RichMenuError with every problem."""
    size_of(spec.size)
    if spec.layout != CUSTOM and spec.layout not in LAYOUTS:
        raise RichMenuError(N_("Choose a layout."))
    problems: list = []
    texts = _collect(problems, clean_texts, spec.name, spec.chat_bar_text)
    shaped = apply_layout(spec.layout, spec.size, spec.areas)
    areas = _collect(problems, clean_areas, shaped, spec.size)
    _collect(problems, _check_switch_targets, session, areas or shaped, menu_id)
    alias_id = _collect(problems, clean_alias, spec.alias_id)
    _collect(problems, _check_alias_free, session, alias_id, menu_id)
    if problems:
        raise RichMenuError.many(problems)
    return MenuSpec(*texts, spec.size, spec.layout, bool(spec.selected), alias_id, areas)


def create_menu(session: Session, *, spec: MenuSpec, actor: Actor) -> RichMenu:
    """Create a draft menu."""
    spec = clean_spec(session, spec)
    menu = RichMenu(
        name=spec.name,
        chat_bar_text=spec.chat_bar_text,
        size=spec.size,
        layout=spec.layout,
        selected=spec.selected,
        alias_id=spec.alias_id,
        areas=dump_areas(spec.areas),
    )
    session.add(menu)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu.created",
        target_type="rich_menu",
        target_id=menu.id,
        after=snapshot(menu),
    )
    return menu


def update_menu(session: Session, *, menu_id: int, spec: MenuSpec, actor: Actor) -> bool:
    """Change a menu's draft (a live menu stays as published until it is published again); True if changed."""
    menu = get_menu(session, menu_id)
    spec = clean_spec(session, spec, menu_id)
    before = snapshot(menu)
    menu.name, menu.chat_bar_text, menu.size, menu.layout = spec.name, spec.chat_bar_text, spec.size, spec.layout
    menu.selected, menu.alias_id, menu.areas = spec.selected, spec.alias_id, dump_areas(spec.areas)
    after = snapshot(menu)
    if after == before:
        return False
    _touch(menu)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu.updated",
        target_type="rich_menu",
        target_id=menu.id,
        before=before,
        after=after,
    )
    return True


def _touch(menu: RichMenu) -> None:
    menu.revision += 1
    menu.updated_at = utcnow()


def set_image(session: Session, *, menu_id: int, data: bytes, actor: Actor) -> RichMenuImage:
    """Check and store the menu's image (replacing any earlier one in the draft)."""
    menu = get_menu(session, menu_id)
    checked = check_image(data, expected=size_of(menu.size))
    image = session.get(RichMenuImage, menu_id) or RichMenuImage(rich_menu_id=menu_id)
    image.content_type, image.width, image.height = checked.content_type, checked.width, checked.height
    image.byte_size, image.data, image.uploaded_at = len(data), data, utcnow()
    session.add(image)
    _touch(menu)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu.image_uploaded",
        target_type="rich_menu",
        target_id=menu_id,
        after={
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "bytes": image.byte_size,
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    return image


def delete_menu(session: Session, *, menu_id: int, actor: Actor) -> None:
    """Delete a draft menu with its image, tag rules and its areas' action lists; a published menu must be
    unpublished first."""
    menu = get_menu(session, menu_id)
    if menu.status == RichMenuStatus.PUBLISHED:
        raise RichMenuError(N_("Unpublish the menu before deleting it."))
    before = snapshot(menu)
    postback_actions.delete_owned(session, owner_type="richmenu", owner_id=menu_id)
    session.delete(menu)
    session.flush()
    record(session, actor=actor, action="richmenu.deleted", target_type="rich_menu", target_id=menu_id, before=before)


def publish_problems(session: Session, menu: RichMenu) -> list[tuple[str, dict]]:
    """What stops a menu from being published, as (msgid, params) problems."""
    problems = []
    image = image_of(session, menu.id)
    expected = size_of(menu.size)
    if image is None:
        problems.append((N_("Upload the menu's image first."), {}))
    elif (image.width, image.height) != expected:
        problems.append(
            (
                N_(
                    "The image is %(width)d × %(height)d but the menu is now %(expected_width)d × "
                    "%(expected_height)d; upload a new image."
                ),
                {
                    "width": image.width,
                    "height": image.height,
                    "expected_width": expected[0],
                    "expected_height": expected[1],
                },
            )
        )
    for number, area in enumerate(areas_of(menu), start=1):
        if area.action is None:
            problems.append((N_("Area %(number)d has no action yet."), {"number": number}))
    try:
        _check_switch_targets(session, areas_of(menu), menu.id)
    except RichMenuError as error:
        problems += error.problems
    return problems
