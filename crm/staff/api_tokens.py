"""REST API bearer tokens: create (the secret is shown once), revoke, authenticate, all audited.

Tokens are 256-bit random secrets, so a plain SHA-256 is enough to store them (no slow password hash needed:
guessing is hopeless, and a fast hash lets each request find its token by an indexed lookup)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from crm.errors import N_, TranslatableError
from crm.permissions import ROLES
from crm.staff.audit import Actor, record
from crm.staff.models import ApiToken

TOKEN_PREFIX = "lcrm_"
NAME_MAX = 100
# Remember the last use at most this often: a busy integration should not write on every call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(TranslatableError):
    """A token that cannot be created or revoked."""


def hash_secret(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(session: Session, *, name: str, role: str, actor: Actor) -> tuple[ApiToken, str]:
    """Create a token with a role; return it and its secret (shown once, never stored)."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise TokenError(N_("Name: enter 1 to %(max)d characters."), max=NAME_MAX)
    if role not in ROLES:
        raise TokenError(N_("Choose a role."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name, role=role, token_hash=hash_secret(secret), prefix=secret[:10], created_by=actor.staff_id
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="api_token.created",
        target_type="api_token",
        target_id=token.id,
        after={"name": name, "role": role, "prefix": token.prefix},
    )
    return token, secret


def revoke_token(session: Session, *, token_id: int, actor: Actor, now: datetime) -> ApiToken:
    """Revoke a token at once; revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(N_("This token no longer exists."))
    if token.revoked_at is None:
        token.revoked_at = now
        record(
            session,
            actor=actor,
            action="api_token.revoked",
            target_type="api_token",
            target_id=token.id,
            before={"name": token.name, "role": token.role},
        )
    return token


def revoke_tokens_created_by(session: Session, *, staff_id: int, actor: Actor, now: datetime) -> int:
    """Revoke the active tokens a staff member created (they saw the secrets); return how many."""
    query = select(ApiToken).where(ApiToken.created_by == staff_id, ApiToken.revoked_at.is_(None))
    tokens = session.exec(query).all()
    for token in tokens:
        revoke_token(session, token_id=token.id, actor=actor, now=now)
    return len(tokens)


def count_active_tokens_created_by(session: Session, staff_id: int) -> int:
    """How many active tokens this staff member created."""
    query = (
        select(func.count()).select_from(ApiToken).where(ApiToken.created_by == staff_id, ApiToken.revoked_at.is_(None))
    )
    return session.exec(query).one()


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, active ones first, newest first."""
    return list(session.exec(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())).all())


def authenticate(session: Session, secret: str | None, *, now: datetime) -> ApiToken | None:
    """The active token with this secret (its last use updated), or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token


def actor_for(token: ApiToken) -> Actor:
    """The audit actor of calls made with this token."""
    return Actor.api_token(token.id, token.name)
