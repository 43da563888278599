"""Rate limits (general and per operation) and request counters."""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.pagerduty.store import JsonDict


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self, prefix: str = "") -> dict[str, str]:
        return {
            f"{prefix}ratelimit-limit": str(self.limit),
            f"{prefix}ratelimit-remaining": str(self.remaining),
            f"{prefix}ratelimit-reset": str(self.reset_seconds),
        }


class FixedWindowLimiter:
    """Per-key request budget over fixed windows that start at the first hit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def reset(self) -> None:
        self._windows.clear()

    def hit(self, key: str, limit: int, window: float) -> RateDecision:
        now = self._clock()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= window:
            start, used = now, 0
        allowed = used < limit
        if allowed:
            used += 1
        self._windows[key] = (start, used)
        reset = max(1, math.ceil(start + window - now))
        return RateDecision(allowed, limit, max(0, limit - used), reset)


def tighter(first: RateDecision, second: RateDecision | None) -> RateDecision:
    """The decision a client must heed: a refusal, else the fewer remaining."""
    if second is None:
        return first
    if first.allowed != second.allowed:
        return second if not second.allowed else first
    return second if second.remaining < first.remaining else first


JOURNAL_SIZE = 2000


@dataclass
class Counters:
    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    contract_violations: int = 0
    # The latest requests in order (method, path, status), for tests that check
    # the order of writes, e.g. create-before-delete.
    journal: deque[tuple[str, str, int]] = field(
        default_factory=lambda: deque(maxlen=JOURNAL_SIZE)
    )

    def record(
        self, endpoint: str, status: int, method: str = "", path: str = ""
    ) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.by_status[status] += 1
        self.journal.append((method, path, status))

    def requests(self) -> JsonDict:
        return {
            "requests": [
                {"method": method, "path": path, "status": status}
                for method, path, status in self.journal
            ]
        }

    def snapshot(self) -> JsonDict:
        return {
            "total": self.total,
            "by_endpoint": dict(sorted(self.by_endpoint.items())),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "status_429": self.by_status[429],
            "status_5xx": sum(v for k, v in self.by_status.items() if k >= 500),
            "contract_violations": self.contract_violations,
        }
