"""What the rich-menu and template editors share for a button that runs actions: the stored list behind a
button's postback data, the action editor for it, and saving it back as signed postback data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from crm.actions.forms import Editor, editor, parse_actions
from crm.postback_actions import service
from crm.postback_actions.models import PostbackActionList
from crm.postback_actions.signing import list_id_of, postback_data
from crm.postback_actions.taps import secret

KIND = "actions"  # the editors' choice 「アクションを実行」


def list_of(session: Session, data: str | None) -> PostbackActionList | None:
    """The stored list a button's postback data refers to (None when it is no signed reference)."""
    return service.get_list(session, list_id_of(data, secret()))


def button_editor(session: Session, *, name: str, data: str | None = None, form=None) -> Editor:
    """The action editor of one button: what was submitted (`form`, kept as typed), else the stored list."""
    actions = parse_actions(form, name) if form is not None else service.actions_of(list_of(session, data))
    return editor(session, name=name, actions=actions)


@dataclass(frozen=True)
class SavedButton:
    """A button's stored actions: the postback data to put on it, its list, and whether the actions changed."""

    data: str
    list_id: int
    changed: bool


def save_button(
    session: Session, *, owner_type: str, owner_id: int | None, place: str, actions: list[dict], data: str | None
) -> SavedButton:
    """Store a button's validated actions (in the list its current data refers to, when that is this owner's)."""
    previous = list_of(session, data)
    row, changed = service.save_list(
        session,
        owner_type=owner_type,
        owner_id=owner_id,
        place=place,
        actions=actions,
        reuse_id=previous.id if previous is not None else None,
    )
    return SavedButton(postback_data(row.id, secret()), row.id, changed)
