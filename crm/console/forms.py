"""Form helpers shared by the console's views."""

from __future__ import annotations

from wtforms import Form

from crm.errors import TranslatableError
from crm.i18n import message_of


def form_error(form: Form, error: TranslatableError, default_field: str | None = None) -> str:
    """Show a domain error on the form: on the field it names (else `default_field`), else as a form-wide error.

    Returns the translated message, for views that also show it elsewhere.
    """
    message = message_of(error)
    name = error.field if error.field in form else default_field
    if name is not None and name in form:
        form[name].errors = [*form[name].errors, message]
    else:
        form.form_errors.append(message)
    return message
