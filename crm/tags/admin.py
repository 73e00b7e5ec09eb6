"""Managing tags and tag folders: create, rename, edit, delete, all audited."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func
from sqlmodel import Session, select, update

from crm.errors import N_
from crm.staff.audit import Actor, record
from crm.tags import service as tag_service
from crm.tags.models import FriendTag, Tag, TagFolder
from crm.tags.service import TagError

COLOR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOR = "#06c755"
NAME_MAX = 100
DESCRIPTION_MAX = 500
DELETE_BATCH = 1000


class TagAdminError(TagError):
    """A tag or folder change that cannot be done; `code` names the reason, `field` the form field concerned."""

    def __init__(self, code: str, msgid: str, *, field: str | None = None, **params):
        super().__init__(msgid, **params)
        self.code, self.field = code, field


def normalise_name(name: str | None) -> str:
    """NFKC-normalise and strip a name, so full-width and half-width forms are one name."""
    return unicodedata.normalize("NFKC", name or "").strip()


def _name_key(name: str) -> str:
    return normalise_name(name).casefold()


def _clean_name(session: Session, model, name: str, exclude_id: int | None) -> str:
    """Return the normalised name, refusing empty, too long, or already used (ignoring case and width)."""
    name = normalise_name(name)
    if not name or len(name) > NAME_MAX:
        raise TagAdminError("invalid_name", N_("Enter a name of 1 to 100 characters."), field="name")
    key = name.casefold()
    # Tags and folders number in the hundreds or thousands: comparing in Python gives the same
    # Unicode case folding on SQLite (whose lower() is ASCII-only) and PostgreSQL.
    for other_id, other_name in session.exec(select(model.id, model.name)).all():
        if other_id != exclude_id and _name_key(other_name) == key:
            raise TagAdminError(
                "duplicate_name",
                N_("This name is already used (case and full-width/half-width are ignored)."),
                field="name",
            )
    return name


def _clean_color(color: str | None) -> str:
    color = (color or DEFAULT_COLOR).strip()
    if not COLOR_PATTERN.fullmatch(color):
        raise TagAdminError("invalid_color", N_("Choose a colour written as #rrggbb."), field="color")
    return color.lower()


def _clean_description(description: str | None) -> str | None:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise TagAdminError("invalid_description", N_("The description is too long."), field="description")
    return description or None


def _check_folder(session: Session, folder_id: int | None) -> int | None:
    if folder_id is not None and session.get(TagFolder, folder_id) is None:
        raise TagAdminError("no_folder", N_("That folder no longer exists."), field="folder")
    return folder_id


def _snapshot(tag: Tag) -> dict:
    return {"name": tag.name, "folder_id": tag.folder_id, "description": tag.description, "color": tag.color}


def get_tag(session: Session, tag_id: int) -> Tag:
    """Return a tag or raise TagAdminError("not_found")."""
    tag = session.get(Tag, tag_id)
    if tag is None:
        raise TagAdminError("not_found", N_("Tag %(id)s does not exist."), id=tag_id)
    return tag


def get_folder(session: Session, folder_id: int) -> TagFolder:
    """Return a folder or raise TagAdminError("not_found")."""
    folder = session.get(TagFolder, folder_id)
    if folder is None:
        raise TagAdminError("not_found", N_("Folder %(id)s does not exist."), id=folder_id)
    return folder


def create_tag(
    session: Session,
    *,
    name: str,
    actor: Actor,
    folder_id: int | None = None,
    description: str | None = None,
    color: str | None = None,
) -> Tag:
    """Create a tag with a unique name."""
    tag = Tag(
        name=_clean_name(session, Tag, name, None),
        folder_id=_check_folder(session, folder_id),
        description=_clean_description(description),
        color=_clean_color(color),
    )
    session.add(tag)
    session.flush()
    record(session, actor=actor, action="tag.created", target_type="tag", target_id=tag.id, after=_snapshot(tag))
    return tag


def update_tag(
    session: Session,
    *,
    tag_id: int,
    actor: Actor,
    name: str,
    folder_id: int | None,
    description: str | None,
    color: str | None,
) -> Tag:
    """Rename a tag or change its folder, description or colour; audit what changed."""
    tag = get_tag(session, tag_id)
    before = _snapshot(tag)
    tag.name = _clean_name(session, Tag, name, tag.id)
    tag.folder_id = _check_folder(session, folder_id)
    tag.description = _clean_description(description)
    tag.color = _clean_color(color)
    after = _snapshot(tag)
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        session.flush()
        record(
            session,
            actor=actor,
            action="tag.updated",
            target_type="tag",
            target_id=tag.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return tag


def linked_friend_count(session: Session, tag_id: int) -> int:
    """Count the friends who have this tag now (from the links, not the cached count)."""
    return session.exec(select(func.count()).select_from(FriendTag).where(FriendTag.tag_id == tag_id)).one()


def delete_tag(session: Session, *, tag_id: int, actor: Actor, batch_size: int = DELETE_BATCH) -> int:
    """Untag every friend in batches, delete the tag, and return how many friends lost it."""
    tag = get_tag(session, tag_id)
    before = _snapshot(tag)
    removed = 0
    batch = select(FriendTag.friend_id).where(FriendTag.tag_id == tag_id).limit(batch_size)
    while friend_ids := session.exec(batch).all():
        removed += tag_service.remove_tag_from_many(session, friend_ids=friend_ids, tag_id=tag_id)
    session.delete(tag)
    session.flush()
    record(
        session,
        actor=actor,
        action="tag.deleted",
        target_type="tag",
        target_id=tag_id,
        before=before,
        after={"friends_untagged": removed},
    )
    return removed


def create_folder(session: Session, *, name: str, actor: Actor) -> TagFolder:
    """Create a tag folder with a unique name, placed last."""
    position = session.exec(select(func.coalesce(func.max(TagFolder.position), 0))).one() + 1
    folder = TagFolder(name=_clean_name(session, TagFolder, name, None), position=position)
    session.add(folder)
    session.flush()
    record(
        session,
        actor=actor,
        action="tag_folder.created",
        target_type="tag_folder",
        target_id=folder.id,
        after={"name": folder.name},
    )
    return folder


def rename_folder(session: Session, *, folder_id: int, name: str, actor: Actor) -> TagFolder:
    """Rename a tag folder."""
    folder = get_folder(session, folder_id)
    before = folder.name
    folder.name = _clean_name(session, TagFolder, name, folder.id)
    if folder.name != before:
        session.flush()
        record(
            session,
            actor=actor,
            action="tag_folder.renamed",
            target_type="tag_folder",
            target_id=folder.id,
            before={"name": before},
            after={"name": folder.name},
        )
    return folder


def folder_tag_count(session: Session, folder_id: int) -> int:
    """Count the tags in a folder."""
    return session.exec(select(func.count()).select_from(Tag).where(Tag.folder_id == folder_id)).one()


def delete_folder(session: Session, *, folder_id: int, actor: Actor) -> int:
    """Delete a folder, moving its tags to no folder; return how many tags moved."""
    folder = get_folder(session, folder_id)
    moved = session.exec(update(Tag).where(Tag.folder_id == folder_id).values(folder_id=None)).rowcount
    name = folder.name
    session.delete(folder)
    session.flush()
    record(
        session,
        actor=actor,
        action="tag_folder.deleted",
        target_type="tag_folder",
        target_id=folder_id,
        before={"name": name},
        after={"tags_moved_to_no_folder": moved},
    )
    return moved


def tags_by_folder(session: Session) -> list[tuple[TagFolder | None, list[Tag]]]:
    """Every folder (in order) with its tags by name, then the tags in no folder."""
    folders = session.exec(select(TagFolder).order_by(TagFolder.position, TagFolder.name)).all()
    groups: dict[int | None, list[Tag]] = {folder.id: [] for folder in folders}
    groups[None] = []
    for tag in session.exec(select(Tag).order_by(Tag.name)).all():
        groups.setdefault(tag.folder_id, []).append(tag)
    return [(folder, groups[folder.id]) for folder in folders] + [(None, groups[None])]


def folders(session: Session) -> list[TagFolder]:
    """All folders in display order."""
    return list(session.exec(select(TagFolder).order_by(TagFolder.position, TagFolder.name)).all())
