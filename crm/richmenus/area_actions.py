"""Areas that run actions (「アクションを実行」): their action editors, saving their lists as signed postback data,
what the preview and the friend's history say about them, and their taps."""

from __future__ import annotations

from sqlmodel import Session

from crm.actions.engine import describe_actions
from crm.actions.forms import Editor, submitted_actions
from crm.actions.registry import ActionError
from crm.errors import N_
from crm.i18n import translate
from crm.postback_actions import editing
from crm.postback_actions import service as postback_actions
from crm.richmenus.layouts import Area, RichMenuError
from crm.richmenus.models import RichMenu
from crm.staff.audit import Actor, record

OWNER = "richmenu"


def editor_name(index: int) -> str:
    """The field prefix of area `index`'s (0-based) action editor."""
    return f"areas-{index}-actions"


def save_area_actions(session: Session, *, menu_id: int, entries, formdata, actor: Actor) -> bool:
    """Store the actions of every area set to run actions and put their signed reference in the area's value;
    each changed list is audited. Returns whether any list changed."""
    problems, changed = [], False
    for index, entry in enumerate(entries):
        if entry.kind.data != editing.KIND:
            continue
        try:
            actions = submitted_actions(session, formdata, editor_name(index))
            if not actions:
                raise ActionError(N_("choose at least one action to run."))
        except ActionError as error:
            problems.append((N_("Area %(number)d: %(problem)s"), {"number": index + 1, "problem": error}))
            continue
        saved = editing.save_button(
            session, owner_type=OWNER, owner_id=menu_id, place=str(index + 1), actions=actions, data=entry.value.data
        )
        entry.value.data = saved.data
        if saved.changed:
            changed = True
            record(
                session,
                actor=actor,
                action="richmenu.area_actions",
                target_type="rich_menu",
                target_id=menu_id,
                after={"area": index + 1, "list_id": saved.list_id, "actions": actions},
            )
    if problems:
        raise RichMenuError.many(problems)
    return changed


def area_editors(session: Session, entries, formdata=None) -> list[Editor]:
    """One action editor per area row: as submitted, else the area's stored actions."""
    return [
        editing.button_editor(session, name=editor_name(index), data=entry.value.data, form=formdata)
        for index, entry in enumerate(entries)
    ]


def described(session: Session, area: Area) -> str:
    """An area's stored actions in words, for the preview."""
    row = editing.list_of(session, area.action.value) if area.action else None
    return "、".join(describe_actions(session, postback_actions.actions_of(row)))


def area_taps(session: Session, areas: list[Area]) -> list[tuple[int, str, postback_actions.TapCount]]:
    """(area number, its actions in words, taps) of each area that runs actions."""
    rows = []
    for number, area in enumerate(areas, start=1):
        if area.action is None or area.action.kind != editing.KIND:
            continue
        found = editing.list_of(session, area.action.value)
        rows.append((number, described(session, area), found.id if found else None))
    counts = postback_actions.tap_counts(session, [list_id for _n, _d, list_id in rows])
    return [(number, text, counts.get(list_id, postback_actions.TapCount())) for number, text, list_id in rows]


def describe_owner(session: Session, menu_id: int | None, place: str) -> str:
    """「リッチメニュー「…」のエリア 3」 for the friend's history."""
    menu = session.get(RichMenu, menu_id) if menu_id else None
    name = menu.name if menu else translate(N_("(deleted rich menu)"))
    return translate(N_("Rich menu “%(name)s”, area %(place)s"), {"name": name, "place": place})
