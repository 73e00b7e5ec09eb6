"""A click's device in a few words (「iPhone · iOS 17 · LINE」) from its User-Agent, with ua-parser."""

from __future__ import annotations

import functools

from ua_parser import parse

UNKNOWN = ("Other", "", None)


@functools.lru_cache(maxsize=4096)
def device_summary(user_agent: str | None) -> str | None:
    """Device, system and browser the User-Agent names, the unknown parts left out (None: nothing known)."""
    if not user_agent:
        return None
    result = parse(user_agent)
    parts = []
    if result.device and result.device.family not in UNKNOWN and result.device.family != "Generic Smartphone":
        parts.append(result.device.family)
    if result.os and result.os.family not in UNKNOWN:
        parts.append(" ".join(filter(None, (result.os.family, result.os.major))))
    if result.user_agent and result.user_agent.family not in UNKNOWN:
        parts.append(result.user_agent.family)
    return " · ".join(parts) or None
