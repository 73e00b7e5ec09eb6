"""Regular expressions of rules, run by RE2: matching time grows linearly with the text, so no pattern can
backtrack forever. What RE2 cannot run in linear time (backreferences, lookaround) is refused when the rule
is saved, as are patterns longer than PATTERN_MAX or whose compiled program would need more than MAX_MEMORY.
Patterns match the normalised text (see normalise.py), case-insensitively."""

from __future__ import annotations

import re2

from crm.auto_replies.errors import AutoReplyError
from crm.errors import N_

PATTERN_MAX = 200
MAX_MEMORY = 1 << 20  # bytes RE2 may use for one compiled pattern


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.case_sensitive = False
    options.log_errors = False
    return options


def compile_pattern(pattern: str):
    """The compiled pattern, or an AutoReplyError (field "keywords") saying why it cannot be used."""
    if len(pattern) > PATTERN_MAX:
        raise AutoReplyError(
            N_("A regular expression may be at most %(max)d characters."), max=PATTERN_MAX, field="keywords"
        )
    try:
        return re2.compile(pattern, _options())
    except re2.error:
        raise AutoReplyError(
            N_(
                "“%(pattern)s” is not a regular expression this system can run (backreferences and lookarounds "
                "are not supported)."
            ),
            pattern=pattern,
            field="keywords",
        ) from None
