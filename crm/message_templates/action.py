"""The `send_template` action: send a saved template to the friend, rendered for them (placeholders, tracked
links, uploaded images), through the reply queue, once per trigger however often the trigger repeats."""

from __future__ import annotations

import uuid

from flask import current_app
from sqlmodel import Session, select

from crm.actions.forms import ParamInput, register_inputs
from crm.actions.models import ActionRun
from crm.actions.registry import ActionContext, ActionError, ActionKind, register_kind
from crm.errors import N_
from crm.friends.models import Friend, FriendStatus
from crm.i18n import translate
from crm.message_templates import content, service
from crm.message_templates.models import MessageTemplate
from crm.sending.replies import queue_reply
from crm.timeutil import utcnow

KIND = "send_template"
RETRY_KEY_NAMESPACE = uuid.UUID("5b0e3f5c-2f39-4a57-9a53-6f3c1f2f8e14")
LINK_SOURCE = "template"


def validate(session: Session, params: dict) -> dict:
    """{"template_id": n} of a template that exists and is not archived."""
    template_id = params.get("template_id") if isinstance(params, dict) else None
    if isinstance(template_id, str) and template_id.isdigit():
        template_id = int(template_id)
    template = session.get(MessageTemplate, template_id) if isinstance(template_id, int) else None
    if template is None:
        raise _error(N_("Choose a template to send."))
    if template.archived:
        raise _error(N_("The template “%(name)s” is archived; restore it or choose another."), name=template.name)
    return {"template_id": template.id}


def run(context: ActionContext) -> bool:
    """Queue the template for the friend; False (skipped) when the friend or template is gone, or the friend
    does not follow."""
    session = context.session
    friend = session.get(Friend, context.friend_id)
    template = session.get(MessageTemplate, context.params.get("template_id"))
    if friend is None or friend.status != FriendStatus.FOLLOWING or template is None or template.archived:
        return False
    config = current_app.config
    messages = content.render(
        session,
        service.messages_of(template),
        friend=friend,
        base_url=config.get("PUBLIC_BASE_URL", ""),
        broadcast_id=None,
        track_links=True,
        scenario_variant_id=context.extra.get("scenario_variant_id"),
        source=LINK_SOURCE,
        neutral_address=config.get("NEUTRAL_ADDRESS"),
    )
    reply_id = queue_reply(
        session,
        friend_id=friend.id,
        line_user_id=friend.line_user_id,
        messages=messages,
        reply_token=context.reply_token,
        occurred_at=utcnow(),
        retry_key=retry_key(context),
        source=context.source[:40],
    )
    return reply_id is not None


def retry_key(context: ActionContext) -> str:
    """The same key for the same trigger, friend and action position: a repeated trigger never sends twice."""
    position = context.extra.get("position")
    if position is None and context.run_id is not None:
        run_row = context.session.get(ActionRun, context.run_id)
        position = run_row.position if run_row is not None else 0
    name = f"{KIND}|{context.trigger_key}|{context.friend_id}|{position or 0}"
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, name))


def describe(session: Session, params: dict) -> str:
    """「テンプレート「…」を送る」 (the template's current name)."""
    template = session.get(MessageTemplate, params.get("template_id"))
    name = template.name if template is not None else f"#{params.get('template_id')}"
    return translate(N_("Send the template “%(name)s”"), {"name": name})


def _error(msgid: str, **params) -> ActionError:
    error = ActionError(msgid, **params)
    error.field = "template_id"
    return error


SEND_TEMPLATE = ActionKind(kind=KIND, label=N_("Send a template"), validate=validate, run=run, describe=describe)


def template_options(session: Session) -> list[tuple[str, str]]:
    """The templates an action can send (not archived), by folder and name, for the action editor."""
    query = select(MessageTemplate).where(MessageTemplate.archived.is_(False))
    templates = session.exec(query.order_by(MessageTemplate.folder, MessageTemplate.name))
    return [(str(t.id), f"{t.folder} / {t.name}" if t.folder else t.name) for t in templates]


def register() -> None:
    """Register the kind and its input in the action editor."""
    register_kind(SEND_TEMPLATE)
    register_inputs(KIND, ParamInput("template_id", N_("Template"), template_options))
