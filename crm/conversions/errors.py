"""The conversions' domain error."""

from __future__ import annotations

from crm.errors import TranslatableError


class ConversionError(TranslatableError):
    """A point or a conversion that cannot be saved, with a message id for the user."""


class NotFound(ConversionError):
    """An unknown point, friend or conversion (the API answers 404)."""

    code = "not_found"
