"""Rules compiled for matching, cached per process and database until the rules' version changes.

Every rule's keywords go into one RE2 set (two: texts with and without spaces), so a text is read once whatever
the number of rules. Every change to a rule bumps `auto_reply_settings.rules_version` in its transaction; a
process reads that row with each message (it also holds the emergency stop) and compiles the enabled rules again
only when the version moved. Matching a text then needs no query unless a rule with a friend condition matches.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import re2
from sqlmodel import Session, select

from crm.auto_replies.models import AutoReplyRule, MatchMode, RuleKind
from crm.auto_replies.normalise import normalise
from crm.auto_replies.patterns import compile_pattern

SET_MEMORY = 256 << 20  # bytes RE2 may use for the keywords of every rule at once


@dataclass(frozen=True)
class CompiledRule:
    """What the runtime needs of a rule."""

    id: int
    name: str
    kind: str
    weekdays: str
    start_minute: int | None
    end_minute: int | None
    condition_tree: str | None
    template_id: int | None
    actions: list[dict]
    continue_to_next: bool
    quiet_minutes: int


def keyword_pattern(mode: str, keyword: str, *, ignore_spaces: bool) -> str | None:
    """The RE2 pattern a keyword stands for, matched against the normalised text (None: nothing to match)."""
    if mode == MatchMode.REGEX:
        compile_pattern(keyword)  # refuses what RE2 cannot run
        return keyword
    word = normalise(keyword, ignore_spaces=ignore_spaces)
    if not word:
        return None
    literal = re2.escape(word)
    return {MatchMode.EXACT: f"^{literal}$", MatchMode.STARTS_WITH: f"^{literal}"}.get(mode, literal)


class KeywordIndex:
    """Every rule's keywords in two RE2 sets (texts with spaces kept, and without): one pass over a text finds
    every rule whose keywords match, whatever the number of rules."""

    def __init__(self) -> None:
        self._sets = {False: self._new_set(), True: self._new_set()}
        self._owners: dict[bool, list[int]] = {False: [], True: []}

    @staticmethod
    def _new_set():
        options = re2.Options()
        options.case_sensitive = False
        options.max_mem = SET_MEMORY
        options.log_errors = False
        return re2.Set.SearchSet(options)

    def add(self, owner: int, mode: str, keywords: list[str], *, ignore_spaces: bool) -> None:
        """Let rule number `owner` match on any of these keywords."""
        for keyword in keywords:
            pattern = keyword_pattern(mode, keyword, ignore_spaces=ignore_spaces)
            if pattern is not None:
                self._sets[ignore_spaces].Add(pattern)
                self._owners[ignore_spaces].append(owner)

    def compile(self) -> KeywordIndex:
        for unspaced, patterns in self._sets.items():
            if self._owners[unspaced]:
                patterns.Compile()
        return self

    def owners(self, text: str | None) -> set[int]:
        """The numbers of the rules whose keywords match the text."""
        if not text:
            return set()
        found: set[int] = set()
        for unspaced, patterns in self._sets.items():
            if self._owners[unspaced]:
                hits = patterns.Match(normalise(text, ignore_spaces=unspaced)) or ()
                found.update(self._owners[unspaced][index] for index in hits)
        return found


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules: keyword rules in priority order (and their keyword index), then the fallbacks
    (outside hours first)."""

    version: int
    keyword_rules: tuple[CompiledRule, ...] = ()
    fallbacks: tuple[CompiledRule, ...] = ()
    index: KeywordIndex = field(default_factory=lambda: KeywordIndex().compile())

    def matching(self, text: str | None) -> list[CompiledRule]:
        """The keyword rules whose keywords match the text, in priority order."""
        return [self.keyword_rules[number] for number in sorted(self.index.owners(text))]


def compile_rule(rule: AutoReplyRule) -> CompiledRule:
    return CompiledRule(
        id=rule.id,
        name=rule.name,
        kind=rule.kind,
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
    rows = list(session.exec(query))
    index, keyword_rules = KeywordIndex(), []
    for row in rows:
        if row.kind == RuleKind.KEYWORD:
            index.add(len(keyword_rules), row.match_mode, json.loads(row.keywords), ignore_spaces=row.ignore_spaces)
            keyword_rules.append(compile_rule(row))
    fallbacks = sorted(
        (compile_rule(row) for row in rows if row.kind in FALLBACK_ORDER), key=lambda r: FALLBACK_ORDER[r.kind]
    )
    return RuleSet(version, tuple(keyword_rules), tuple(fallbacks), index.compile())


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
