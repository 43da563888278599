"""Resync progress in the log: per kind, at most one line every LOG_EVERY seconds
(objects read of the total PagerDuty reports, rate, time left), then a final
line with the count and the duration.

Listings report their totals (`total=true` on every first page) to the kind's
`Progress`, which lives in a context variable for the duration of the kind's
resync; only the kind's own listing counts (`/services` for `services`), not
those made for enrichment (users, on-calls).
"""

import time
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Any

from loguru import logger

LOG_EVERY = 10.0


class Progress:
    def __init__(self, kind: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.kind = kind
        self.clock = clock
        self.expected = 0
        self.read = 0
        self.started = clock()
        self.last_logged = self.started

    def add_expected(self, total: int) -> None:
        self.expected += total

    def add_read(self, count: int) -> None:
        self.read += count
        now = self.clock()
        if now - self.last_logged >= LOG_EVERY:
            self.last_logged = now
            logger.info(self.line(now))

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.read / elapsed
        if self.expected and self.read < self.expected and rate > 0:
            left = (self.expected - self.read) / rate
            share = 100 * self.read / self.expected
            return (
                f"Resync progress, {self.kind}: {self.read:,} of {self.expected:,} "
                f"read ({share:.0f}%), {rate:,.0f}/s, about {left:,.0f} s left"
            )
        return f"Resync progress, {self.kind}: {self.read:,} read, {rate:,.0f}/s"

    def final_line(self) -> str:
        return (
            f"Resync of {self.kind} read {self.read:,} objects in "
            f"{self.clock() - self.started:,.1f} s"
        )


_current: ContextVar[Progress | None] = ContextVar("pagerduty_progress", default=None)


def report_total(path: str, total: int) -> None:
    """A listing says how many it holds; it counts for the kind it lists."""
    progress = _current.get()
    if progress is not None and path.strip("/").split("/")[-1] == progress.kind:
        progress.add_expected(total)


async def tracked(
    kind: str, pages: AsyncIterator[list[Any]]
) -> AsyncIterator[list[Any]]:
    progress = Progress(kind)
    token = _current.set(progress)
    try:
        async for page in pages:
            progress.add_read(len(page))
            yield page
    finally:
        try:
            _current.reset(token)
        except ValueError:  # finalized from another context
            _current.set(None)
    logger.info(progress.final_line())
