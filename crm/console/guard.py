"""The `requires(permission)` decorator every console route uses, and the current actor."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from crm.permissions import can
from crm.staff.audit import Actor


def requires(permission: str):
    """Require a signed-in staff member whose role holds permission (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not can(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorator


def current_actor() -> Actor:
    """The signed-in staff member as an audit actor."""
    return Actor.staff(current_user.id, current_user.email)
