"""Resync progress in the log: per kind, one line every LOG_EVERY seconds while
the kind runs (objects handed to Ocean of the total PagerDuty reports, rate,
time left), then a final line with the count and the duration.

Listings report their totals (`total=true` on every first page) and each page
they read to the kind's `Progress`, which lives in a context variable for the
duration of the kind's resync; only the kind's own listing counts (`/services`
for `services`), not those made for enrichment (users, on-calls).

A line is written on a timer too, not only when a batch is handed over: a kind
whose objects wait for enrichment (services: on-calls, dependencies) can list
everything in seconds and hand nothing to Ocean for minutes, and said nothing
in that time (measured in `make bench`'s steady state: no line for the first
106 s of 2,000 services, then a "2,029 s left" that was 10 s). Such a line says
how many were listed from PagerDuty so far. The rate and the time left count
from the first batch handed over, so a long wait before it does not make the
estimate wrong by orders of magnitude.
"""

import asyncio
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
        self.listed = 0
        self.read = 0
        self.started = clock()
        self.last_logged = self.started
        # (when, how many) the first batch was handed over: the rate counts from it
        self.first_batch: tuple[float, int] | None = None

    def add_expected(self, total: int) -> None:
        self.expected += total

    def add_listed(self, count: int) -> None:
        self.listed += count

    def add_read(self, count: int) -> None:
        now = self.clock()
        self.read += count
        if self.first_batch is None:
            self.first_batch = (now, self.read)
        self.tick(now)

    def tick(self, now: float | None = None) -> None:
        """Log a line if none was logged for LOG_EVERY seconds."""
        now = self.clock() if now is None else now
        if now - self.last_logged >= LOG_EVERY:
            self.last_logged = now
            logger.info(self.line(now))

    def rate(self, now: float) -> float | None:
        if self.first_batch is None:
            return None
        since, read_then = self.first_batch
        if now <= since or self.read <= read_then:
            return None
        return (self.read - read_then) / (now - since)

    def line(self, now: float) -> str:
        head = f"Resync progress, {self.kind}: "
        listed = self.listing_note()
        if not self.read:
            waited = now - self.started
            return f"{head}nothing handed to Ocean yet after {waited:,.0f} s{listed}"
        rate = self.rate(now)
        if self.expected and self.read < self.expected:
            share = 100 * self.read / self.expected
            counts = f"{self.read:,} of {self.expected:,} read ({share:.0f}%)"
            if rate:
                left = (self.expected - self.read) / rate
                return (
                    f"{head}{counts}, {rate:,.0f}/s, about {left:,.0f} s left{listed}"
                )
            return f"{head}{counts}{listed}"
        speed = f", {rate:,.0f}/s" if rate else ""
        return f"{head}{self.read:,} read{speed}{listed}"

    def listing_note(self) -> str:
        if self.listed <= self.read:
            return ""
        listed = min(self.listed, self.expected) if self.expected else self.listed
        return f"; {listed:,} listed from PagerDuty so far"

    def final_line(self) -> str:
        return (
            f"Resync of {self.kind} read {self.read:,} objects in "
            f"{self.clock() - self.started:,.1f} s"
        )


_current: ContextVar[Progress | None] = ContextVar("pagerduty_progress", default=None)


def _of_kind(path: str) -> Progress | None:
    progress = _current.get()
    if progress is not None and path.strip("/").split("/")[-1] == progress.kind:
        return progress
    return None


def report_total(path: str, total: int) -> None:
    """A listing says how many it holds; it counts for the kind it lists."""
    if (progress := _of_kind(path)) is not None:
        progress.add_expected(total)


def report_listed(path: str, count: int) -> None:
    """A page of a listing was read from PagerDuty."""
    if (progress := _of_kind(path)) is not None:
        progress.add_listed(count)


async def _ticker(progress: Progress) -> None:
    while True:
        await asyncio.sleep(LOG_EVERY)
        progress.tick()


async def tracked(
    kind: str, pages: AsyncIterator[list[Any]]
) -> AsyncIterator[list[Any]]:
    progress = Progress(kind)
    token = _current.set(progress)
    ticker = asyncio.get_running_loop().create_task(_ticker(progress))
    try:
        async for page in pages:
            progress.add_read(len(page))
            yield page
    finally:
        ticker.cancel()
        try:
            _current.reset(token)
        except ValueError:  # finalized from another context
            _current.set(None)
    logger.info(progress.final_line())
