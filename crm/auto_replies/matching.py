"""Rules compiled for matching, cached per process and database until the rules' version changes.

Every change to a rule bumps `auto_reply_settings.rules_version` in its transaction; a process reads that row
with each message (it also holds the emergency stop) and compiles the enabled rules again only when the version
moved. Matching a text is then pure Python over precompiled keywords: no query unless a rule with a friend
condition matches.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from crm.auto_replies.models import AutoReplyRule, MatchMode, RuleKind
from crm.auto_replies.normalise import normalise
from crm.auto_replies.patterns import compile_pattern

Matcher = Callable[[str, str], bool]  # (normalised text, normalised text without spaces) -> matches


@dataclass(frozen=True)
class CompiledRule:
    """What the runtime needs of a rule, with its keywords turned into one test."""

    id: int
    name: str
    kind: str
    matches: Matcher
    weekdays: str
    start_minute: int | None
    end_minute: int | None
    condition_tree: str | None
    template_id: int | None
    actions: list[dict]
    continue_to_next: bool
    quiet_minutes: int


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules: keyword rules in priority order, then the fallbacks (outside hours first)."""

    version: int
    keyword_rules: tuple[CompiledRule, ...] = ()
    fallbacks: tuple[CompiledRule, ...] = field(default=())

    def matching(self, text: str | None) -> list[CompiledRule]:
        """The keyword rules whose keywords match the text, in priority order."""
        if not text:
            return []
        spaced, unspaced = normalise(text), normalise(text, ignore_spaces=True)
        return [rule for rule in self.keyword_rules if rule.matches(spaced, unspaced)]


def matcher(mode: str, keywords: list[str], *, ignore_spaces: bool) -> Matcher:
    """One test for a rule's keywords (normalised here, once)."""
    if mode == MatchMode.REGEX:
        patterns = [compile_pattern(keyword) for keyword in keywords]
        if ignore_spaces:
            return lambda _spaced, unspaced: any(pattern.search(unspaced) for pattern in patterns)
        return lambda spaced, _unspaced: any(pattern.search(spaced) for pattern in patterns)
    words = tuple(word for word in (normalise(k, ignore_spaces=ignore_spaces) for k in keywords) if word)
    pick = (lambda _spaced, unspaced: unspaced) if ignore_spaces else (lambda spaced, _unspaced: spaced)
    if mode == MatchMode.EXACT:
        exact = frozenset(words)
        return lambda spaced, unspaced: pick(spaced, unspaced) in exact
    if mode == MatchMode.STARTS_WITH:
        return lambda spaced, unspaced: pick(spaced, unspaced).startswith(words) if words else False
    return lambda spaced, unspaced: any(word in pick(spaced, unspaced) for word in words)


def compile_rule(rule: AutoReplyRule) -> CompiledRule:
    keywords = json.loads(rule.keywords or "[]")
    return CompiledRule(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
        matches=matcher(rule.match_mode, keywords, ignore_spaces=rule.ignore_spaces),
        weekdays=rule.weekdays,
        start_minute=rule.start_minute,
        end_minute=rule.end_minute,
        condition_tree=rule.condition_tree,
        template_id=rule.template_id,
        actions=json.loads(rule.actions or "[]"),
        continue_to_next=rule.continue_to_next,
        quiet_minutes=rule.quiet_minutes,
    )


FALLBACK_ORDER = {RuleKind.OUTSIDE_HOURS: 0, RuleKind.ANY_OTHER: 1}


def load_rules(session: Session, version: int, *, include_disabled: bool = False) -> RuleSet:
    """Compile the rules (the enabled ones, unless told) from the database."""
    query = select(AutoReplyRule).order_by(AutoReplyRule.position, AutoReplyRule.id)
    if not include_disabled:
        query = query.where(AutoReplyRule.enabled.is_(True))
    rules = [compile_rule(rule) for rule in session.exec(query)]
    keyword_rules = tuple(rule for rule in rules if rule.kind == RuleKind.KEYWORD)
    fallbacks = sorted((rule for rule in rules if rule.kind in FALLBACK_ORDER), key=lambda r: FALLBACK_ORDER[r.kind])
    return RuleSet(version=version, keyword_rules=keyword_rules, fallbacks=tuple(fallbacks))


_cache: dict[str, RuleSet] = {}
_cache_lock = threading.Lock()


def cached_rules(session: Session, version: int) -> RuleSet:
    """The enabled rules of the session's database at this version, compiled once per process."""
    key = str(session.get_bind().url)
    rules = _cache.get(key)
    if rules is not None and rules.version == version:
        return rules
    rules = load_rules(session, version)
    with _cache_lock:
        _cache[key] = rules
    return rules
