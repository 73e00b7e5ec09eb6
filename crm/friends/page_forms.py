"""The friend page's forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField


class ActionForm(FlaskForm):
    """A button-only form (just the CSRF token): remove a tag, delete a note."""


class TagAddForm(FlaskForm):
    tag_id = SelectField(_l("Tag"), coerce=int, choices=[])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"))


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Message"))
    retry_key = HiddenField()
