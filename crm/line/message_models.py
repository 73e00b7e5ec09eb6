"""Checking message objects (LINE JSON) with the SDK's models, for services that may not import the SDK."""

from __future__ import annotations

from linebot.v3.messaging import Message


class MessageModelError(ValueError):
    """The SDK's models reject a message object; str() is the SDK's explanation."""


def validate_message_dict(message: dict) -> dict:
    """Return the message as the SDK serialises it (unknown keys dropped), or raise MessageModelError."""
    try:
        model = Message.from_dict(message)
    except (ValueError, TypeError, KeyError, AttributeError) as error:  # pydantic's ValidationError is a ValueError
        raise MessageModelError(_first_line(error)) from None
    if model is None:
        raise MessageModelError("empty message")
    return model.to_dict()


def _first_line(error: Exception) -> str:
    """A short reason: pydantic's multi-line report joined on one line, bounded."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text[:300]
