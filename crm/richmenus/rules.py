"""Tag rules for rich menus ("friends with tag X get menu Y", first match wins) and the relink queue.

Tag changes only queue friends (in the same transaction as the change); a relink round later works through
the queue: plan_pending() reads it, call_line() calls LINE's bulk link/unlink with up to 500 users a call (never
once per friend) with no transaction open, and record_applied() stores the result in a second transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, insert, union
from sqlmodel import Session, select

from crm.errors import N_
from crm.friends.models import Friend
from crm.richmenus.layouts import RichMenuError
from crm.richmenus.models import RichMenu, RichMenuLink, RichMenuRelink, RichMenuRule
from crm.sql import insert_for, utc_literal
from crm.staff.audit import Actor, record
from crm.tags.models import FriendTag, Tag
from crm.timeutil import utcnow

RELINK_QUEUED = "richmenu_relink_queued"  # Session.info flag: friends were queued in this session
RELINK_BATCH = 2000
BULK = 500


@dataclass(frozen=True)
class RelinkResult:
    """How many queued friends were looked at, linked to a menu, and unlinked."""

    friends: int
    linked: int
    unlinked: int


def list_rules(session: Session) -> list[tuple[RichMenuRule, Tag, RichMenu]]:
    """The rules in the order they are tried."""
    rows = session.exec(
        select(RichMenuRule, Tag, RichMenu)
        .join(Tag, Tag.id == RichMenuRule.tag_id)
        .join(RichMenu, RichMenu.id == RichMenuRule.rich_menu_id)
        .order_by(RichMenuRule.position, RichMenuRule.id)
    ).all()
    return [tuple(row) for row in rows]


def add_rule(session: Session, *, tag_id: int, menu_id: int, actor: Actor) -> RichMenuRule:
    """Add a rule at the end of the list and queue the friends with its tag."""
    if session.get(Tag, tag_id) is None or session.get(RichMenu, menu_id) is None:
        raise RichMenuError(N_("Choose a tag and a menu."))
    if session.exec(select(RichMenuRule).where(RichMenuRule.tag_id == tag_id)).first() is not None:
        raise RichMenuError(N_("This tag already has a rule; delete that rule first."))
    position = session.exec(select(func.coalesce(func.max(RichMenuRule.position), 0))).one() + 1
    rule = RichMenuRule(tag_id=tag_id, rich_menu_id=menu_id, position=position)
    session.add(rule)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu_rule.created",
        target_type="rich_menu_rule",
        target_id=rule.id,
        after={"tag_id": tag_id, "rich_menu_id": menu_id, "position": position},
    )
    queue_tagged(session, [tag_id])
    return rule


def delete_rule(session: Session, *, rule_id: int, actor: Actor) -> None:
    """Delete a rule and queue the friends with its tag (they may get another menu or none)."""
    rule = _rule(session, rule_id)
    before = {"tag_id": rule.tag_id, "rich_menu_id": rule.rich_menu_id, "position": rule.position}
    session.delete(rule)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu_rule.deleted",
        target_type="rich_menu_rule",
        target_id=rule_id,
        before=before,
    )
    queue_tagged(session, [before["tag_id"]])


def move_rule(session: Session, *, rule_id: int, up: bool, actor: Actor) -> None:
    """Swap a rule with the one before (up) or after it, and queue the friends with either tag."""
    rules = [row[0] for row in list_rules(session)]
    index = next((i for i, rule in enumerate(rules) if rule.id == rule_id), None)
    if index is None:
        raise LookupError(rule_id)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        return
    for position, rule in enumerate(rules, start=1):
        rule.position = position
    rules[index].position, rules[other].position = rules[other].position, rules[index].position
    session.add_all(rules)
    session.flush()
    record(
        session,
        actor=actor,
        action="richmenu_rule.moved",
        target_type="rich_menu_rule",
        target_id=rule_id,
        after={"position": rules[index].position},
    )
    queue_tagged(session, [rules[index].tag_id, rules[other].tag_id])


def _rule(session: Session, rule_id: int) -> RichMenuRule:
    rule = session.get(RichMenuRule, rule_id)
    if rule is None:
        raise LookupError(rule_id)
    return rule


def _queued(session: Session, count: int) -> int:
    if count:
        session.info[RELINK_QUEUED] = True
    return count


def queue_friends(session: Session, friend_ids: list[int], *, menu_id: int | None = None) -> int:
    """Queue friends for the rules to be applied to them (or, with `menu_id`, to be linked to that menu)."""
    friend_ids = list(dict.fromkeys(friend_ids))
    if friend_ids:
        now = utcnow()
        rows = [{"friend_id": f, "rich_menu_id": menu_id, "queued_at": now} for f in friend_ids]
        session.exec(insert(RichMenuRelink), params=rows)
    return _queued(session, len(friend_ids))


def _queue_select(session: Session, friend_ids_select) -> int:
    stmt = insert(RichMenuRelink).from_select(
        ["friend_id", "queued_at"], select(friend_ids_select.c.friend_id, utc_literal(utcnow()))
    )
    return _queued(session, session.exec(stmt).rowcount or 0)


def queue_tagged(session: Session, tag_ids: list[int]) -> int:
    """Queue every friend who has one of these tags."""
    friends = select(FriendTag.friend_id).where(FriendTag.tag_id.in_(tag_ids)).distinct().subquery()
    return _queue_select(session, friends)


def queue_for_menu(session: Session, menu_id: int) -> int:
    """Queue the friends whose tags have a rule pointing at this menu (after it is first published)."""
    tag_ids = list(session.exec(select(RichMenuRule.tag_id).where(RichMenuRule.rich_menu_id == menu_id)))
    return queue_tagged(session, tag_ids) if tag_ids else 0


def queue_everyone(session: Session, *, actor: Actor) -> int:
    """Queue every friend a rule could concern: those with a rule's tag and those the CRM linked."""
    rule_tags = select(RichMenuRule.tag_id)
    friends = union(
        select(FriendTag.friend_id).where(FriendTag.tag_id.in_(rule_tags)), select(RichMenuLink.friend_id)
    ).subquery()
    queued = _queue_select(session, friends)
    record(
        session,
        actor=actor,
        action="richmenu_rule.applied_to_all",
        target_type="rich_menu_rule",
        after={"queued": queued},
    )
    return queued


def on_tags_changed(session: Session, *, tag_id: int, friend_ids: list[int], added: bool) -> None:
    """Tag listener: queue the friends when a rule uses this tag (nothing is written otherwise)."""
    if session.exec(select(exists().where(RichMenuRule.tag_id == tag_id))).one():
        queue_friends(session, friend_ids)


def pending_count(session: Session) -> int:
    """How many friends wait for the rules to be applied."""
    return session.exec(select(func.count(func.distinct(RichMenuRelink.friend_id)))).one()


def _targets(session: Session, friend_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Friend id -> (menu id, LINE menu id) of the first rule that matches, among published menus."""
    rules = session.exec(
        select(RichMenuRule.tag_id, RichMenu.id, RichMenu.line_menu_id)
        .join(RichMenu, RichMenu.id == RichMenuRule.rich_menu_id)
        .where(RichMenu.line_menu_id.is_not(None))
        .order_by(RichMenuRule.position, RichMenuRule.id)
    ).all()
    if not rules:
        return {}
    tags = defaultdict(set)
    for friend_id, tag_id in session.exec(
        select(FriendTag.friend_id, FriendTag.tag_id).where(
            FriendTag.friend_id.in_(friend_ids), FriendTag.tag_id.in_([rule[0] for rule in rules])
        )
    ):
        tags[friend_id].add(tag_id)
    targets = {}
    for friend_id, held in tags.items():
        targets[friend_id] = next((menu_id, line_id) for tag_id, menu_id, line_id in rules if tag_id in held)
    return targets


def _chosen(session: Session, chosen: dict[int, int]) -> dict[int, tuple[int, str]]:
    """Friend id -> (menu id, LINE menu id) of the menus actions chose, among published menus."""
    menus = dict(
        session.exec(
            select(RichMenu.id, RichMenu.line_menu_id).where(
                RichMenu.id.in_(set(chosen.values())), RichMenu.line_menu_id.is_not(None)
            )
        ).all()
    )
    return {friend_id: (menu_id, menus[menu_id]) for friend_id, menu_id in chosen.items() if menu_id in menus}


def _plan(
    session: Session, friend_ids: list[int], chosen: dict[int, int] | None = None
) -> tuple[dict, list[int], dict[int, str]]:
    """What to link (target -> friend ids) and unlink, and each friend's LINE user id; a menu an action chose
    for a friend (`chosen`: friend id -> menu id) wins over the rules."""
    targets = {**_targets(session, friend_ids), **_chosen(session, chosen or {})}
    current = {
        link.friend_id: (link.rich_menu_id, link.line_menu_id)
        for link in session.exec(select(RichMenuLink).where(RichMenuLink.friend_id.in_(friend_ids)))
    }
    users = dict(session.exec(select(Friend.id, Friend.line_user_id).where(Friend.id.in_(friend_ids))).all())
    to_link, to_unlink = defaultdict(list), []
    for friend_id in friend_ids:
        target = targets.get(friend_id)
        if friend_id not in users or current.get(friend_id) == target:
            continue
        if target is None:
            to_unlink.append(friend_id)
        else:
            to_link[target].append(friend_id)
    return to_link, to_unlink, users


def _save_links(session: Session, friend_ids: list[int], target: tuple[int, str]) -> None:
    now = utcnow()
    rows = [
        {"friend_id": f, "rich_menu_id": target[0], "line_menu_id": target[1], "linked_at": now} for f in friend_ids
    ]
    stmt = insert_for(session, RichMenuLink.__table__).values(rows)
    session.exec(
        stmt.on_conflict_do_update(
            index_elements=["friend_id"],
            set_={
                "rich_menu_id": stmt.excluded.rich_menu_id,
                "line_menu_id": stmt.excluded.line_menu_id,
                "linked_at": stmt.excluded.linked_at,
            },
        )
    )


@dataclass(frozen=True)
class RelinkPlan:
    """What a relink round does on LINE: which queue entries it covers, whom it links to which menu
    ((menu id, LINE menu id) -> friend ids) and whom it unlinks, with each friend's LINE user id."""

    queue_ids: list[int]
    friend_ids: list[int]
    to_link: dict[tuple[int, str], list[int]]
    to_unlink: list[int]
    users: dict[int, str]


def plan_pending(session: Session, *, limit: int = RELINK_BATCH) -> RelinkPlan | None:
    """Plan the rules for up to `limit` queued entries (reads only); None when nothing is queued."""
    rows = session.exec(
        select(RichMenuRelink.id, RichMenuRelink.friend_id, RichMenuRelink.rich_menu_id)
        .order_by(RichMenuRelink.id)
        .limit(limit)
    ).all()
    if not rows:
        return None
    friend_ids = sorted({friend_id for _id, friend_id, _menu in rows})
    chosen = {friend_id: menu_id for _id, friend_id, menu_id in rows if menu_id is not None}  # the latest wins
    to_link, to_unlink, users = _plan(session, friend_ids, chosen)
    return RelinkPlan([row_id for row_id, _f, _menu in rows], friend_ids, dict(to_link), to_unlink, users)


def call_line(client, plan: RelinkPlan) -> None:
    """Make the plan's bulk link and unlink calls (≤500 users each); call with no transaction open.

    LINE errors propagate and nothing is recorded: the entries stay queued, and linking again is harmless."""
    for (_menu_id, line_menu_id), linking in plan.to_link.items():
        for start in range(0, len(linking), BULK):
            client.bulk_link_rich_menu(line_menu_id, [plan.users[f] for f in linking[start : start + BULK]])
    for start in range(0, len(plan.to_unlink), BULK):
        client.bulk_unlink_rich_menu([plan.users[f] for f in plan.to_unlink[start : start + BULK]])


def record_applied(session: Session, plan: RelinkPlan) -> RelinkResult:
    """Record what LINE now shows the planned friends and take their entries off the queue."""
    for target, linking in plan.to_link.items():
        for start in range(0, len(linking), BULK):
            _save_links(session, linking[start : start + BULK], target)
    if plan.to_unlink:
        session.exec(delete(RichMenuLink).where(RichMenuLink.friend_id.in_(plan.to_unlink)))
    session.exec(delete(RichMenuRelink).where(RichMenuRelink.id.in_(plan.queue_ids)))
    linked = sum(len(linking) for linking in plan.to_link.values())
    return RelinkResult(len(plan.friend_ids), linked, len(plan.to_unlink))
