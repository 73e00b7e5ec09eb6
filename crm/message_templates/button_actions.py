"""Template buttons that run actions (「アクションを実行」): their action editors kept through the editor's
commands, saving their lists as signed postback data, the words for the friend's history and their taps."""

from __future__ import annotations

from sqlmodel import Session

from crm.actions.engine import validate_actions
from crm.actions.forms import Editor, editor, parse_actions
from crm.actions.registry import ActionError
from crm.errors import N_
from crm.i18n import translate
from crm.message_templates.models import MessageTemplate
from crm.postback_actions import editing
from crm.postback_actions import service as postback_actions
from crm.staff.audit import Actor, record

OWNER = "template"


def buttons(form):
    """(place "message-card-button" 1-based, the button's form) of every button of the editor form."""
    for m, message in enumerate(form.messages, start=1):
        for c, card in enumerate(message.form.cards, start=1):
            for b, button in enumerate(card.form.actions, start=1):
                yield f"{m}-{c}-{b}", button.form


def editor_name(button) -> str:
    """The field prefix of a button's action editor (follows the button's own fields)."""
    return f"{button._prefix}steps"


def keep_submitted(form, formdata) -> None:
    """Remember each button's submitted action rows on the button, before a command moves buttons around."""
    for _place, button in buttons(form):
        button.submitted_actions = parse_actions(formdata, editor_name(button))


def button_editors(session: Session, form) -> dict[str, Editor]:
    """The action editor of each button set to run actions, by its editor name: as submitted, else stored."""
    editors = {}
    for _place, button in buttons(form):
        if button.kind.data != editing.KIND:
            continue
        submitted = getattr(button, "submitted_actions", None)
        if submitted is None:
            submitted = postback_actions.actions_of(editing.list_of(session, button.value.data))
        editors[editor_name(button)] = editor(session, name=editor_name(button), actions=submitted)
    return editors


def save_buttons(session: Session, form, *, template_id: int | None, actor: Actor) -> list[int]:
    """Store the actions of every button set to run them, putting their signed reference in the button's value;
    each changed list is audited. Returns the lists' ids (ActionError names the first button at fault)."""
    list_ids = []
    for place, button in buttons(form):
        if button.kind.data != editing.KIND:
            continue
        try:
            actions = validate_actions(session, getattr(button, "submitted_actions", []))
            if not actions:
                raise ActionError(N_("choose at least one action to run."))
        except ActionError as error:
            raise ActionError(N_("Button %(place)s: %(problem)s"), place=place, problem=error) from None
        saved = editing.save_button(
            session, owner_type=OWNER, owner_id=template_id, place=place, actions=actions, data=button.value.data
        )
        button.value.data = saved.data
        list_ids.append(saved.list_id)
        if saved.changed:
            record(
                session,
                actor=actor,
                action="template.button_actions",
                target_type="template",
                target_id=template_id,
                after={"button": place, "list_id": saved.list_id, "actions": actions},
            )
    return list_ids


def claim(session: Session, list_ids: list[int], template_id: int) -> None:
    """Give the lists of a template saved for the first time to it."""
    postback_actions.claim_lists(session, list_ids=list_ids, owner_type=OWNER, owner_id=template_id)


def button_taps(session: Session, form) -> dict[str, postback_actions.TapCount]:
    """Taps per button that runs actions, by the button's postback data."""
    found = {}
    for _place, button in buttons(form):
        row = editing.list_of(session, button.value.data) if button.kind.data == editing.KIND else None
        if row is not None:
            found[button.value.data] = row.id
    counts = postback_actions.tap_counts(session, found.values())
    return {data: counts.get(list_id, postback_actions.TapCount()) for data, list_id in found.items()}


def describe_owner(session: Session, template_id: int | None, place: str) -> str:
    """「テンプレート「…」のボタン 1-1-2」 for the friend's history."""
    template = session.get(MessageTemplate, template_id) if template_id else None
    name = template.name if template else translate(N_("(deleted template)"))
    return translate(N_("Template “%(name)s”, button %(place)s"), {"name": name, "place": place})
