"""Message templates: list by folder with search, create, edit, copy, archive and restore, each change audited."""

from __future__ import annotations

import json

from sqlalchemy import func, or_, select
from sqlmodel import Session

from crm.errors import N_, TranslatableError
from crm.message_templates import content, images, media
from crm.message_templates.models import MessageTemplate
from crm.staff.audit import Actor, record
from crm.timeutil import utcnow

NAME_MAX = FOLDER_MAX = 100
COPY_SUFFIX = " のコピー"


class TemplateError(TranslatableError):
    """A template that cannot be stored as given, or is not there."""


def messages_of(template: MessageTemplate) -> list[dict]:
    """The template's stored messages."""
    return json.loads(template.messages)


def messages_for_sending(template: MessageTemplate, *, base_url: str) -> list[dict]:
    """A copy of the messages for content sent as stored (a broadcast): uploaded images as absolute URLs."""
    return media.resolve_all(messages_of(template), base_url)


def list_templates(
    session: Session, *, folder: str | None = None, search: str | None = None, archived: bool = False
) -> list[MessageTemplate]:
    """Templates by folder and name; `folder` "" means those in no folder; `search` matches name or content."""
    query = select(MessageTemplate).where(MessageTemplate.archived == archived)
    if folder == "":
        query = query.where(MessageTemplate.folder.is_(None))
    elif folder:
        query = query.where(MessageTemplate.folder == folder)
    if search and search.strip():
        words = search.strip()
        query = query.where(
            or_(
                MessageTemplate.name.icontains(words, autoescape=True),
                MessageTemplate.messages.icontains(words, autoescape=True),
            )
        )
    order = (func.coalesce(MessageTemplate.folder, ""), MessageTemplate.name, MessageTemplate.id)
    return list(session.scalars(query.order_by(*order)))


def folders(session: Session) -> list[str]:
    """The folders in use, by name."""
    query = select(MessageTemplate.folder).where(MessageTemplate.folder.is_not(None)).distinct()
    return sorted(session.scalars(query))


def get_template(session: Session, template_id: int) -> MessageTemplate:
    """The template, or TemplateError("not_found")."""
    template = session.get(MessageTemplate, template_id)
    if template is None:
        error = TemplateError(N_("This template does not exist."))
        error.code = "not_found"
        raise error
    return template


def save_template(
    session: Session,
    *,
    actor: Actor,
    name: str,
    folder: str | None,
    messages: list[dict] | str,
    template_id: int | None = None,
) -> MessageTemplate:
    """Create a template (template_id None) or change one; messages are validated as LINE would."""
    name, folder = _clean_name(name), (folder or "").strip()[:FOLDER_MAX] or None
    checked = content.validate_messages(messages, allow_uploaded=True)
    missing = images.missing_images(session, checked)
    if missing:
        raise TemplateError(N_("An image this template uses is no longer uploaded; upload it again."))
    stored = json.dumps(checked, ensure_ascii=False)
    if template_id is None:
        template = MessageTemplate(name=name, folder=folder, messages=stored, created_by=actor.staff_id)
        session.add(template)
        session.flush()
        record(
            session,
            actor=actor,
            action="template.create",
            target_type="template",
            target_id=template.id,
            after=_snapshot(template),
        )
        return template
    template = get_template(session, template_id)
    before = _snapshot(template)
    template.name, template.folder, template.messages, template.updated_at = name, folder, stored, utcnow()
    record(
        session,
        actor=actor,
        action="template.update",
        target_type="template",
        target_id=template.id,
        before=before,
        after=_snapshot(template),
    )
    return template


def copy_template(session: Session, *, actor: Actor, template_id: int) -> MessageTemplate:
    """A new template with the same folder and messages, named 「… のコピー」."""
    original = get_template(session, template_id)
    name = original.name[: NAME_MAX - len(COPY_SUFFIX)] + COPY_SUFFIX
    copy = MessageTemplate(name=name, folder=original.folder, messages=original.messages, created_by=actor.staff_id)
    session.add(copy)
    session.flush()
    record(
        session,
        actor=actor,
        action="template.copy",
        target_type="template",
        target_id=copy.id,
        before={"copied_from": original.id},
        after=_snapshot(copy),
    )
    return copy


def set_archived(session: Session, *, actor: Actor, template_id: int, archived: bool) -> MessageTemplate:
    """Archive a template (kept for what already uses it, hidden from pickers) or bring it back."""
    template = get_template(session, template_id)
    if template.archived != archived:
        template.archived, template.updated_at = archived, utcnow()
        action = "template.archive" if archived else "template.restore"
        record(
            session,
            actor=actor,
            action=action,
            target_type="template",
            target_id=template.id,
            after={"name": template.name},
        )
    return template


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        error = TemplateError(N_("Give the template a name of at most %(limit)s characters."), limit=NAME_MAX)
        error.field = "name"
        raise error
    return name


def _snapshot(template: MessageTemplate) -> dict:
    return {"name": template.name, "folder": template.folder, "messages": messages_of(template)}
