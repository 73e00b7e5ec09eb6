"""Notes (メモ) on friends: written by staff; authors change their own, holders of edit_any change any."""

from __future__ import annotations

from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.friends.models import Note
from crm.staff.audit import Actor, record
from crm.staff.models import Staff
from crm.timeutil import utcnow

MAX_NOTE_CHARS = 5000


class NoteError(TranslatableError):
    """A note that cannot be saved; msgid and params let the edge translate it."""


class NotePermissionError(NoteError):
    """The actor may not change this note."""


def clean_body(body: str | None) -> str:
    """Normalise line ends and surrounding space; refuse empty or overlong text."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise NoteError(N_("Write something in the note."))
    if len(text) > MAX_NOTE_CHARS:
        raise NoteError(
            N_("A note can have at most %(max)d characters (now %(count)d)."), max=MAX_NOTE_CHARS, count=len(text)
        )
    return text


def notes_for_friend(session: Session, *, friend_id: int) -> list[tuple[Note, str | None]]:
    """A friend's notes, newest first, with the author's display name."""
    rows = session.exec(
        select(Note, Staff.display_name)
        .join(Staff, Note.author_staff_id == Staff.id, isouter=True)
        .where(Note.friend_id == friend_id)
        .order_by(Note.created_at.desc(), Note.id.desc())
    )
    return [(note, author) for note, author in rows]


def may_change(note: Note, *, staff_id: int | None, edit_any: bool) -> bool:
    """Authors may change their own notes; edit_any lets a role change anyone's."""
    return edit_any or (staff_id is not None and note.author_staff_id == staff_id)


def create_note(session: Session, *, friend_id: int, body: str, actor: Actor) -> Note:
    """Add a note to a friend (audited)."""
    note = Note(friend_id=friend_id, author_staff_id=actor.staff_id, body=clean_body(body))
    session.add(note)
    session.flush()
    record(
        session,
        actor=actor,
        action="note.created",
        target_type="friend",
        target_id=friend_id,
        after={"note_id": note.id, "body": note.body},
    )
    return note


def _owned_note(session: Session, *, note_id: int, friend_id: int, actor: Actor, edit_any: bool) -> Note:
    note = session.get(Note, note_id)
    if note is None or note.friend_id != friend_id:
        raise NoteError(N_("This note no longer exists."))
    if not may_change(note, staff_id=actor.staff_id, edit_any=edit_any):
        raise NotePermissionError(N_("You can only change notes you wrote."))
    return note


def edit_note(session: Session, *, note_id: int, friend_id: int, body: str, actor: Actor, edit_any: bool) -> Note:
    """Change a note's text (audited with before and after)."""
    note = _owned_note(session, note_id=note_id, friend_id=friend_id, actor=actor, edit_any=edit_any)
    text = clean_body(body)
    if text == note.body:
        return note
    record(
        session,
        actor=actor,
        action="note.edited",
        target_type="friend",
        target_id=friend_id,
        before={"note_id": note.id, "body": note.body},
        after={"note_id": note.id, "body": text},
    )
    note.body, note.updated_at = text, utcnow()
    return note


def delete_note(session: Session, *, note_id: int, friend_id: int, actor: Actor, edit_any: bool) -> None:
    """Delete a note (audited with its text)."""
    note = _owned_note(session, note_id=note_id, friend_id=friend_id, actor=actor, edit_any=edit_any)
    record(
        session,
        actor=actor,
        action="note.deleted",
        target_type="friend",
        target_id=friend_id,
        before={"note_id": note.id, "body": note.body, "author_staff_id": note.author_staff_id},
    )
    session.delete(note)
