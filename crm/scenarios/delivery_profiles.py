"""Names before `{name}`: the profile of a friend who has none yet is fetched before a due step addresses them.

Right after a follow the profile fetch may not have run yet. The fetch happens with no transaction open, all
of a batch's friends at once and within PROFILE_TIMEOUT seconds; a profile that arrives is stored, and a
friend LINE gives none for (or too late) is rendered anyway, with the neutral form of address the template
engine uses for an empty name.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from crm.db import session_scope
from crm.friends import service as friends
from crm.friends.models import Friend, FriendStatus
from crm.scenarios import delivery_batch

log = logging.getLogger(__name__)
PROFILE_TIMEOUT = 2.0  # seconds for a whole batch's fetches: a welcome message must not wait long
MAX_PARALLEL = 8
NAME_PLACEHOLDER = "{name}"


def fetch_missing_names(engine: Engine, line, *, now: datetime, limit: int) -> int:
    """Fetch and store the profiles of the next due sends' nameless friends whose step says {name}; how many
    profiles were stored."""
    with session_scope(engine) as session:
        wanted = _nameless_addressed(session, now=now, limit=limit)
    if not wanted:
        return 0
    profiles = _fetch(line, wanted)
    for friend_id, profile in profiles.items():
        with session_scope(engine) as session:
            friends.apply_profile(session, friend_id=friend_id, profile=profile)
    return len(profiles)


def _nameless_addressed(session, *, now: datetime, limit: int) -> dict[int, str]:
    """{friend id: LINE user id} of following friends without a display name among the next due sends whose
    template says {name}."""
    due = delivery_batch.due_query(now, limit).subquery()
    rows = session.execute(
        select(Friend.id, Friend.line_user_id, due.c.variant_id)
        .join(due, due.c.friend_id == Friend.id)
        .where(Friend.display_name.is_(None), Friend.status == FriendStatus.FOLLOWING)
    ).all()
    if not rows:
        return {}
    messages_of = delivery_batch.template_messages(session, {variant_id for _, _, variant_id in rows})
    addressing = {variant_id for variant_id, messages in messages_of.items() if _says_name(messages)}
    return {friend_id: user_id for friend_id, user_id, variant_id in rows if variant_id in addressing}


def _says_name(messages) -> bool:
    if isinstance(messages, str):
        return False
    return any(NAME_PLACEHOLDER in (message.get("text") or "") for message in messages if message.get("type") == "text")


def _fetch(line, wanted: dict[int, str]) -> dict:
    """The profiles LINE gave within the timeout: {friend id: Profile}."""
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(wanted)), thread_name_prefix="profile")
    try:
        futures = {pool.submit(line.get_profile, user_id): friend_id for friend_id, user_id in wanted.items()}
        done, late = wait(futures, timeout=PROFILE_TIMEOUT)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    profiles = {}
    for future in done:
        try:
            profile = future.result()
        except Exception as error:  # noqa: BLE001 - any failure only means rendering without the name
            log.warning("scenario_profile_fetch_failed friend_id=%s error=%s", futures[future], error)
            continue
        if profile is not None and profile.display_name:
            profiles[futures[future]] = profile
    if late:
        log.warning("scenario_profile_fetch_late friends=%s", len(late))
    return profiles
