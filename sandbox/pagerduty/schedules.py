"""On-call schedules as PagerDuty computes them: a rotation layer plus overrides.

A schedule's rotation hands the pager to its users in turn, one shift of
``shift_seconds`` each, counted from a fixed anchor. Overrides put another user
on call for a time; where overrides overlap, the one created last wins. The
final schedule is the rotation with the overrides laid on top, adjacent
periods of the same user merged.

Pure model: no store, no HTTP; times are unix seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

ROTATION_ANCHOR = datetime(1970, 1, 5, tzinfo=UTC).timestamp()  # a Monday
DEFAULT_SHIFT_MINUTES = 720
HORIZON_SECONDS = 90 * 86400.0  # shifts are known at most 90 days ahead


@dataclass(slots=True)
class Override:
    """One override: ``user_id`` is on call over [start, end)."""

    override_id: str
    start: float
    end: float
    user_id: str
    sequence: int  # creation order: a later override wins where they overlap


@dataclass(slots=True)
class Period:
    """One on-call period of the final schedule: [start, end) held by a user."""

    start: float
    end: float
    user_id: str

    def overlaps(self, since: float, until: float) -> bool:
        """Whether this period overlaps [since, until] (an instant when equal)."""
        return self.end > since and (self.start < until or self.start <= since)


@dataclass
class Rotation:
    """A schedule's rotation layer and its overrides."""

    user_ids: list[str]
    offset: int
    shift_seconds: float = DEFAULT_SHIFT_MINUTES * 60.0
    overrides: list[Override] = field(default_factory=list)

    # ----------------------------------------------------------- rotation layer
    def shift_index(self, ts: float) -> int:
        return math.floor((ts - ROTATION_ANCHOR) / self.shift_seconds)

    def shift_start(self, index: int) -> float:
        return ROTATION_ANCHOR + index * self.shift_seconds

    def rotation_user(self, index: int) -> str:
        return self.user_ids[(index + self.offset) % len(self.user_ids)]

    # ----------------------------------------------------------- final schedule
    def override_at(self, ts: float) -> Override | None:
        """The override in force at ``ts`` (the last created wins), if any."""
        best: Override | None = None
        for override in self.overrides:
            if override.start <= ts < override.end and (
                best is None or override.sequence > best.sequence
            ):
                best = override
        return best

    def user_at(self, ts: float) -> str:
        override = self.override_at(ts)
        if override is not None:
            return override.user_id
        return self.rotation_user(self.shift_index(ts))

    def periods(self, since: float, until: float) -> list[Period]:
        """Every period of the final schedule that overlaps [since, until]."""
        low = self.shift_start(self.shift_index(since))
        high = self.shift_start(self.shift_index(until) + 1)
        for override in self.overrides:
            if override.start <= since < override.end:
                low = min(low, override.start)
            if override.start <= until < override.end:
                high = max(high, override.end)
        points = self._boundaries(low, high)
        merged: list[Period] = []
        for start, end in zip(points, points[1:], strict=False):
            user_id = self.user_at(start)
            if merged and merged[-1].user_id == user_id and merged[-1].end == start:
                merged[-1].end = end
            else:
                merged.append(Period(start, end, user_id))
        return [period for period in merged if period.overlaps(since, until)]

    def _boundaries(self, low: float, high: float) -> list[float]:
        points = {low, high}
        index = self.shift_index(low) + 1
        while (boundary := self.shift_start(index)) < high:
            points.add(boundary)
            index += 1
        for override in self.overrides:
            for moment in (override.start, override.end):
                if low < moment < high:
                    points.add(moment)
        return sorted(points)

    def add_override(
        self, override_id: str, start: float, end: float, user_id: str
    ) -> Override:
        sequence = 1 + max((o.sequence for o in self.overrides), default=0)
        override = Override(override_id, start, end, user_id, sequence)
        self.overrides.append(override)
        return override

    def overrides_between(self, since: float, until: float) -> list[Override]:
        return sorted(
            (o for o in self.overrides if o.end > since and o.start < until),
            key=lambda o: (o.start, o.sequence),
        )
