"""Bearer-token authentication and the role check of every API operation (the console's permission table)."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from crm.api.errors import ApiError
from crm.api.schemas import ErrorSchema
from crm.db import get_session
from crm.permissions import can, masks_personal_data
from crm.staff import api_tokens
from crm.staff.audit import Actor
from crm.staff.models import ApiToken
from crm.timeutil import utcnow

SECURITY = [{"bearerAuth": []}]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else None


def authenticate() -> ApiToken:
    """The request's active token (last use remembered, committed at once), or 401."""
    db = get_session()
    token = api_tokens.authenticate(db, _bearer(), now=utcnow())
    # Not a unit of work: this runs before every API view, and commits only when the last-use stamp changed,
    # so the many calls that change nothing pay no commit.
    if token is None:
        db.rollback()
        raise ApiError(401, "unauthorized", "A valid bearer token is required (Authorization: Bearer <token>).")
    if db.dirty:
        db.commit()
    return token


def guard(blp, permission: str):
    """Decorate a view (under @blp.route): a valid token whose role holds `permission`, checked before the
    arguments are read; documents 401 and 403."""

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            token = authenticate()
            if not can(token.role, permission):
                raise ApiError(
                    403, "forbidden", f"the token's role {token.role!r} lacks {permission}", {"permission": permission}
                )
            g.api_token = token
            return view(*args, **kwargs)

        guarded.required_api_permission = permission
        guarded = blp.alt_response(401, schema=ErrorSchema, description="Missing, unknown or revoked token")(guarded)
        guarded = blp.alt_response(403, schema=ErrorSchema, description=f"The role lacks `{permission}`")(guarded)
        return blp.doc(security=SECURITY, **{"x-permission": permission})(guarded)

    return decorator


def actor() -> Actor:
    """The audit actor of this request's token."""
    return api_tokens.actor_for(g.api_token)


def role() -> str:
    """The role of this request's token."""
    return g.api_token.role


def masked() -> bool:
    """Whether the token's role sees masked personal data."""
    return masks_personal_data(role())
