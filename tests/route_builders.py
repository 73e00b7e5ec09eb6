"""Reuse werkzeug's parsed rules and compiled URL builders across the apps the tests build.

The tests build a fresh CRM app for nearly every test (about 4,000 per run), and werkzeug compiles each of its
~210 routes again each time: it parses the rule's text into the matcher's parts (about a quarter of building an
app) and compiles two URL builder functions per route with `ast` and `compile` (about 0.1 s per app before
this cache). Both depend only on the rule's text and the converter classes it names (the builders reach the
converters through their `self` argument at call time), so the same rule can share them; each rule still gets
its own converter objects, bound to its own map. Production builds its app once and is left alone.
"""

from __future__ import annotations

from werkzeug.routing.rules import Rule

_original_compile_builder = Rule._compile_builder
_original_parse_rule = Rule._parse_rule
_builders: dict[tuple, object] = {}
_parsed: dict[tuple, tuple] = {}


def _cached_compile_builder(self: Rule, append_unknown: bool = True):
    try:
        key = (
            self.rule,
            tuple(self._trace),
            tuple(sorted((name, repr(value)) for name, value in (self.defaults or {}).items())),
            tuple(sorted((name, type(converter)) for name, converter in self._converters.items())),
            append_unknown,
        )
    except TypeError:  # an unorderable default: compile as werkzeug does
        return _original_compile_builder(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _original_compile_builder(self, append_unknown)
    return builder


def _cached_parse_rule(self: Rule, rule: str):
    """werkzeug's `Rule._parse_rule` (the matcher's parts, plus the trace, converters and arguments it records
    on the rule), parsed once per rule text and set of converter classes, then replayed."""
    key = (rule, tuple(self.map.converters.items()))
    parsed = _parsed.get(key)
    if parsed is None:
        made: list[tuple] = []
        get_converter = self.get_converter

        def recording_get_converter(variable, name, args, kwargs):
            made.append((variable, name, args, kwargs))
            return get_converter(variable, name, args, kwargs)

        trace_start = len(self._trace)
        self.get_converter = recording_get_converter
        try:
            parts = list(_original_parse_rule(self, rule))
        finally:
            del self.get_converter
        _parsed[key] = (parts, self._trace[trace_start:], made)
        return parts
    parts, trace, made = parsed
    self._trace.extend(trace)
    for variable, name, args, kwargs in made:
        self._converters[variable] = self.get_converter(variable, name, args, kwargs)
        self.arguments.add(variable)
    return parts


def install() -> None:
    Rule._compile_builder = _cached_compile_builder
    Rule._parse_rule = _cached_parse_rule
