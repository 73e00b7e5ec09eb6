"""The `link_richmenu` action: show a friend a published rich menu, through the relink queue (the relink job
calls LINE later, never inside the action's transaction). The tag rules win again the next time they are
applied to the friend."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.actions.forms import ParamInput, register_inputs
from crm.actions.registry import ActionContext, ActionError, ActionKind, register_kind
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.i18n import translate
from crm.richmenus import rules
from crm.richmenus.models import RichMenu


def _validate(session: Session, params: dict) -> dict:
    try:
        menu_id = int(params.get("menu_id"))
    except (TypeError, ValueError):
        raise ActionError(N_("choose one.")) from None
    if session.get(RichMenu, menu_id) is None:
        raise ActionError(N_("that rich menu no longer exists."))
    return {"menu_id": menu_id}


def _link(context: ActionContext) -> bool:
    menu = context.session.get(RichMenu, int(context.params["menu_id"]))
    friend = context.session.get(Friend, context.friend_id)
    if menu is None or menu.line_menu_id is None or friend is None or friend.status != FriendStatus.FOLLOWING:
        return False  # deleted or not published (any more), or nobody to show it to
    rules.queue_friends(context.session, [friend.id], menu_id=menu.id)
    return True


def _describe(session: Session, params: dict) -> str:
    menu = session.get(RichMenu, int(params.get("menu_id") or 0))
    name = menu.name if menu else translate(N_("(deleted rich menu)"))
    return translate(N_("Show rich menu “%(name)s”"), {"name": name})


def menu_options(session: Session) -> list[tuple[str, str]]:
    """The menus an action can show: every menu (one not published is skipped until it is)."""
    return [(str(menu.id), menu.name) for menu in session.exec(select(RichMenu).order_by(RichMenu.name))]


LINK_RICHMENU = ActionKind("link_richmenu", N_("Show a rich menu"), _validate, _link, _describe)


def register() -> None:
    """Make the kind known, with its input in the action editor."""
    register_kind(LINK_RICHMENU)
    register_inputs(LINK_RICHMENU.kind, ParamInput("menu_id", N_("Rich menu"), menu_options))
