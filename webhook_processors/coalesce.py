"""One fetch of an object's current state serves every delivery about it that
it can serve.

During an incident storm PagerDuty sends many deliveries per incident, often
late and out of order. A fetch that *started* after an event occurred already
reads the state that event left, so:

- a delivery whose event occurred (PagerDuty's `occurred_at`) at least
  CLOCK_MARGIN before the start of a completed fetch of the same object needs
  no fetch of its own: that fetch's result is already in Port;
- deliveries that arrive while a fetch of the object is still waiting to start
  (its COALESCE_WINDOW) join it, and so do those whose event occurred at least
  CLOCK_MARGIN before a running fetch started.

The window only helps when another delivery can be handled while a fetch
waits: with Ocean's default of one event worker (`OCEAN__EVENT_WORKERS_COUNT`),
or the live-events stream (one message at a time per pod), nothing can join,
so there is no window (measured in `make bench`'s storm: with one worker the
0.3 s window alone made 1,000 incidents take over 300 s to settle).

The state written is therefore never older than the newest event's
`occurred_at`. With Ocean's Redis live-events stream configured, the start
times of completed fetches are kept in that Redis, so replicas share them.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from loguru import logger
from port_ocean.context.ocean import ocean

from client import JSON
from live_events_redis import redis_client, redis_url_of_live_events

# How long a fetch waits for more deliveries about the same object.
COALESCE_WINDOW = 0.3
# Tolerated difference between PagerDuty's clock and ours.
CLOCK_MARGIN = 2.0
RECORD_SECONDS = 3600
MAX_MEMORY_RECORDS = 100_000
REDIS_KEY_PREFIX = "ocean:pagerduty:fetched:"

Fetch = Callable[[], Awaitable[JSON | None]]


@dataclass
class Fetched:
    """What a delivery gets: the state it fetched, or `served` when another
    delivery's fetch already wrote a state at least as new."""

    state: JSON | None = None
    served: bool = False


class FetchRecord(Protocol):
    async def last_start(self, key: str) -> float | None: ...

    async def mark(self, key: str, started: float) -> None: ...


class MemoryFetchRecord:
    def __init__(self, max_records: int = MAX_MEMORY_RECORDS) -> None:
        self.max_records = max_records
        self._starts: OrderedDict[str, float] = OrderedDict()

    async def last_start(self, key: str) -> float | None:
        return self._starts.get(key)

    async def mark(self, key: str, started: float) -> None:
        self._starts[key] = max(started, self._starts.get(key, started))
        self._starts.move_to_end(key)
        while len(self._starts) > self.max_records:
            self._starts.popitem(last=False)


class RedisFetchRecord:
    def __init__(self, url: str, fallback: FetchRecord) -> None:
        self.url = url
        self.fallback = fallback

    async def last_start(self, key: str) -> float | None:
        try:
            value = await (await redis_client(self.url)).get(REDIS_KEY_PREFIX + key)
        except Exception as error:
            logger.warning(f"Redis unavailable for coalescing ({error})")
            return await self.fallback.last_start(key)
        return float(value) if value is not None else None

    async def mark(self, key: str, started: float) -> None:
        await self.fallback.mark(key, started)
        try:
            await (await redis_client(self.url)).set(
                REDIS_KEY_PREFIX + key, repr(started), ex=RECORD_SECONDS
            )
        except Exception as error:
            logger.warning(f"Redis unavailable for coalescing ({error})")


@dataclass
class Pending:
    started_at: float | None = None  # our clock; None while in its window
    result: "asyncio.Future[JSON | None]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def serves(self, occurred_at: datetime | None) -> bool:
        """Whether this fetch's result will do for an event that occurred then."""
        if self.started_at is None:
            return True  # it starts after this delivery arrived
        if occurred_at is None:
            return False
        return occurred_at.timestamp() + CLOCK_MARGIN <= self.started_at


class Coalescer:
    def __init__(
        self,
        record: FetchRecord,
        window: float = COALESCE_WINDOW,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.record = record
        self.window = window
        self.clock = clock
        self._pending: dict[str, Pending] = {}

    async def current(
        self, key: str, occurred_at: datetime | None, fetch: Fetch
    ) -> Fetched:
        if await self._already_served(key, occurred_at):
            return Fetched(served=True)
        pending = self._pending.get(key)
        if pending is not None and pending.serves(occurred_at):
            try:
                await asyncio.shield(pending.result)
                return Fetched(served=True)
            except Exception:
                pass  # the fetch we joined failed: try our own
        return await self._fetch(key, fetch)

    async def _already_served(self, key: str, occurred_at: datetime | None) -> bool:
        if occurred_at is None:
            return False
        last = await self.record.last_start(key)
        return last is not None and occurred_at.timestamp() + CLOCK_MARGIN <= last

    async def _fetch(self, key: str, fetch: Fetch) -> Fetched:
        pending = Pending()
        self._pending[key] = pending
        try:
            if self.window > 0:
                await asyncio.sleep(self.window)
            started = pending.started_at = self.clock()
            state = await fetch()
        except BaseException as error:
            # Joiners catch Exception: a cancelled fetch must not cancel them.
            failure = (
                error
                if isinstance(error, Exception)
                else RuntimeError(f"the fetch of {key} was cancelled")
            )
            pending.result.set_exception(failure)
            pending.result.exception()  # marks it retrieved for joiners-less cases
            raise
        finally:
            if self._pending.get(key) is pending:
                del self._pending[key]
        pending.result.set_result(state)
        newer = await self.record.last_start(key)
        if newer is not None and newer > started:
            # A fetch that started after this one has completed (several event
            # workers): its newer state is written, this older one must not be.
            return Fetched(served=True)
        await self.record.mark(key, started)
        return Fetched(state)


_coalescer: Coalescer | None = None


def process_coalescer() -> Coalescer:
    """The process-wide coalescer, sharing its record through the live-events
    Redis when that is configured."""
    global _coalescer
    if _coalescer is None:
        memory = MemoryFetchRecord()
        url = redis_url_of_live_events()
        record = RedisFetchRecord(url, memory) if url else memory
        concurrent = not url and ocean.config.event_workers_count > 1
        _coalescer = Coalescer(record, COALESCE_WINDOW if concurrent else 0.0)
    return _coalescer
