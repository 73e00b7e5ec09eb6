"""Honest rates: a proportion with its 95 % interval, and the difference between a treated group and a control
group (Newcombe's hybrid score interval, sound for small groups and for rates near 0 or 100 %).

Shared by broadcast and scenario statistics; below MIN_GROUP friends a rate is not shown at all."""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt

Z_95 = 1.959963984540054
MIN_GROUP = 30  # fewer friends than this in a group: say so instead of showing a percentage


def rate(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent (None for an empty whole)."""
    return None if not whole else 100.0 * part / whole


def wilson(part: int, whole: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of part/whole as fractions in [0, 1] (None for an empty whole)."""
    if not whole:
        return None
    p = part / whole
    divisor = 1 + z * z / whole
    centre = (p + z * z / (2 * whole)) / divisor
    half = z * sqrt(p * (1 - p) / whole + z * z / (4 * whole * whole)) / divisor
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Proportion:
    """How many of a group reached something, with its 95 % interval in percent."""

    reached: int
    group: int

    @property
    def enough(self) -> bool:
        return self.group >= MIN_GROUP

    @property
    def percent(self) -> float | None:
        return rate(self.reached, self.group)

    @property
    def interval(self) -> tuple[float, float] | None:
        bounds = wilson(self.reached, self.group)
        return None if bounds is None else (100 * bounds[0], 100 * bounds[1])


@dataclass(frozen=True)
class Comparison:
    """A treated group against a control group: the difference in percentage points and its 95 % interval."""

    treated: Proportion
    control: Proportion

    @property
    def enough(self) -> bool:
        """Both groups are big enough for their rates and the difference to be shown."""
        return self.treated.enough and self.control.enough

    @property
    def friends(self) -> int:
        """How many friends the comparison rests on."""
        return self.treated.group + self.control.group

    @property
    def difference(self) -> float | None:
        if self.treated.percent is None or self.control.percent is None:
            return None
        return self.treated.percent - self.control.percent

    @property
    def interval(self) -> tuple[float, float] | None:
        """Newcombe (1998) method 10: each group's Wilson bounds combined; in percentage points."""
        first, second = (
            wilson(self.treated.reached, self.treated.group),
            wilson(self.control.reached, self.control.group),
        )
        if first is None or second is None:
            return None
        p1, p2 = self.treated.reached / self.treated.group, self.control.reached / self.control.group
        low = (p1 - p2) - sqrt((p1 - first[0]) ** 2 + (second[1] - p2) ** 2)
        high = (p1 - p2) + sqrt((first[1] - p1) ** 2 + (p2 - second[0]) ** 2)
        return 100 * low, 100 * high

    @property
    def significant(self) -> bool:
        """The interval leaves out zero: the difference is unlikely to be chance alone."""
        bounds = self.interval
        return bounds is not None and (bounds[0] > 0 or bounds[1] < 0)


def compare(treated_reached: int, treated_group: int, control_reached: int, control_group: int) -> Comparison:
    """The treated group's rate against the control group's."""
    return Comparison(Proportion(treated_reached, treated_group), Proportion(control_reached, control_group))
