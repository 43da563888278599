"""A clock for time-bounded catalog facts: moments known in advance.

Some catalog facts change at a moment that is known before it comes and that
PagerDuty announces to nobody: an on-call shift's `end`, a maintenance window's
start or end. A topic (e.g. "oncall", "maintenance") schedules moments per key
(e.g. an escalation policy id, a service id); when moments come (plus a small
margin, so the other side's clock has passed them too), the topic's handler
gets every due moment with its keys, in one call, so it can read what changed
for all of them at once.

Times are unix seconds (floats). Moments in the past are due at once. A key's
moments are replaced as a whole (`set_moments`), so a handler that learns the
next moments of a key just sets them; a moment already handed out is gone.

One timetable per process (`process_timetable()`), started from an Ocean start
hook (`start()`); a new time-bounded fact registers its topic on it, e.g.
`process_timetable().on("maintenance", handler)` and
`process_timetable().set_moments("maintenance", service_id, [start, end])`.
"""

import asyncio
import contextlib
import contextvars
import heapq
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any

from loguru import logger

DEFAULT_MARGIN_SECONDS = 5.0

# What a topic's handler gets: each due moment with the keys due at it.
Due = dict[float, set[str]]
Handler = Callable[[Due], Awaitable[None]]


def detached[T](work: Coroutine[Any, Any, T]) -> "asyncio.Task[T]":
    """`work` as a task of its own outside the caller's Ocean event (a start
    hook's, an action run's), so what it does opens events of its own."""
    return asyncio.get_running_loop().create_task(work, context=contextvars.Context())


def seconds_of(moment: datetime | float) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


class Timetable:
    def __init__(
        self,
        margin: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.margin = margin
        self.clock = clock
        self._handlers: dict[str, Handler] = {}
        self._moments: dict[tuple[str, str], set[float]] = {}
        self._heap: list[tuple[float, str, str]] = []
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ scheduling
    def on(self, topic: str, handler: Handler) -> None:
        """`handler` gets the topic's due moments; one handler per topic."""
        self._handlers[topic] = handler

    def set_moments(
        self, topic: str, key: str, moments: Iterable[datetime | float]
    ) -> None:
        """The moments of `key` from now on (replacing the ones it had)."""
        wanted = {seconds_of(moment) for moment in moments}
        slot = (topic, key)
        if not wanted:
            self._moments.pop(slot, None)
            return
        known = self._moments.get(slot, set())
        self._moments[slot] = wanted
        for when in wanted - known:
            heapq.heappush(self._heap, (when, topic, key))
        if wanted - known:
            self._changed.set()

    def add_moment(self, topic: str, key: str, moment: datetime | float) -> None:
        self.set_moments(topic, key, {*self._moments.get((topic, key), ()), moment})

    def moments(self, topic: str) -> dict[str, set[float]]:
        """Every key of `topic` with its pending moments."""
        return {
            key: set(whens) for (t, key), whens in self._moments.items() if t == topic
        }

    def next_moment(self) -> float | None:
        """The earliest pending moment (without the margin), if any."""
        while self._heap:
            when, topic, key = self._heap[0]
            if when in self._moments.get((topic, key), ()):
                return when
            heapq.heappop(self._heap)  # replaced or cleared since
        return None

    def pop_due(self, now: float | None = None) -> dict[str, Due]:
        """Every moment due by `now` (margin included), per topic, removed."""
        now = self.clock() if now is None else now
        due: dict[str, Due] = {}
        while (when := self.next_moment()) is not None and when + self.margin <= now:
            _, topic, key = heapq.heappop(self._heap)
            pending = self._moments[(topic, key)]
            pending.discard(when)
            if not pending:
                del self._moments[(topic, key)]
            due.setdefault(topic, {}).setdefault(when, set()).add(key)
        return due

    # ------------------------------------------------------------ running
    async def run_due(self) -> None:
        """Hands the due moments to their topics' handlers (one call per topic)."""
        for topic, moments in self.pop_due().items():
            handler = self._handlers.get(topic)
            if handler is None:
                logger.warning(f"Timetable: no handler for topic {topic!r}")
                continue
            try:
                await handler(moments)
            except Exception as error:  # one topic's failure must not stop the clock
                logger.exception(f"Timetable: the {topic!r} handler failed: {error}")

    async def run(self) -> None:
        """Forever: wait for the next moment (or a new earlier one), run it."""
        while True:
            await self.run_due()
            when = self.next_moment()
            delay = (
                None if when is None else max(0.0, when + self.margin - self.clock())
            )
            self._changed.clear()
            if delay == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)

    def start(self) -> None:
        """Run the clock in the background (once; later calls do nothing)."""
        if self._runner is None or self._runner.done():
            self._runner = detached(self.run())


_timetable: Timetable | None = None


def process_timetable() -> Timetable:
    global _timetable
    if _timetable is None:
        _timetable = Timetable()
    return _timetable
