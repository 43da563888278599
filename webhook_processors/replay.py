"""Each signed PagerDuty event is processed once.

De-duplication keys on the envelope's `event.id`, which the signature covers
(`X-Webhook-Id` does not: a captured delivery re-sent with a new id would pass
a header-based check). Records live for REPLAY_HORIZON, past PagerDuty's ~48 h
of redeliveries; a signed event older than that is refused outright, so an old
capture cannot be replayed after its record expired. With Ocean's Redis
live-events stream configured, the record is shared by every replica.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from loguru import logger

from live_events_redis import redis_client, redis_url_of_live_events

REPLAY_HORIZON = timedelta(hours=50)
MAX_MEMORY_RECORDS = 200_000
REDIS_KEY_PREFIX = "ocean:pagerduty:webhook-event:"


class SeenEvents(Protocol):
    async def first_sighting(self, event_id: str, delivery: str) -> bool:
        """True the first time `event_id` is seen (or again for the same
        `delivery`, so every processor of one delivery gets the same answer)."""
        ...


class MemorySeenEvents:
    """Bounded in size and age; the oldest record goes first when full."""

    def __init__(
        self,
        max_records: int = MAX_MEMORY_RECORDS,
        horizon: timedelta = REPLAY_HORIZON,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_records = max_records
        self.horizon_seconds = horizon.total_seconds()
        self.clock = clock
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def first_sighting(self, event_id: str, delivery: str) -> bool:
        now = self.clock()
        while self._seen and next(iter(self._seen.values()))[0] < now:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return self._seen[event_id][1] == delivery
        self._seen[event_id] = (now + self.horizon_seconds, delivery)
        while len(self._seen) > self.max_records:
            self._seen.popitem(last=False)
        return True


class RedisSeenEvents:
    """`SET key delivery NX EX horizon` in the live-events Redis."""

    def __init__(self, url: str, fallback: SeenEvents) -> None:
        self.url = url
        self.fallback = fallback

    async def first_sighting(self, event_id: str, delivery: str) -> bool:
        key = REDIS_KEY_PREFIX + event_id
        try:
            client = await redis_client(self.url)
            seconds = int(REPLAY_HORIZON.total_seconds())
            if await client.set(key, delivery, nx=True, ex=seconds):
                return True
            current = await client.get(key)
            return _text(current) == delivery
        except Exception as error:
            logger.warning(
                f"Redis unavailable for webhook de-duplication ({error}); "
                "de-duplicating in this replica only"
            )
            return await self.fallback.first_sighting(event_id, delivery)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


def is_too_old(occurred_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a signed event is older than the horizon (or says no valid time)."""
    if occurred_at is None:
        return True
    return (now or datetime.now(UTC)) - occurred_at > REPLAY_HORIZON


_seen_events: SeenEvents | None = None


def process_seen_events() -> SeenEvents:
    """The process-wide record, in Redis when the live-events stream uses it."""
    global _seen_events
    if _seen_events is None:
        memory = MemorySeenEvents()
        url = redis_url_of_live_events()
        _seen_events = RedisSeenEvents(url, memory) if url else memory
    return _seen_events
