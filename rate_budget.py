"""One PagerDuty rate budget per process, shared by every kind, enrichment and webhook.

PagerDuty limits each token per minute and reports the window on every answer
(`ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` in seconds). The
budget spends a window's requests as fast as the concurrency bound allows, then
waits for the window to reset instead of running into 429s; the headers keep
it honest when other clients share the token.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

DEFAULT_PER_MINUTE = 960
DEFAULT_MAX_IN_FLIGHT = 10
WINDOW_SECONDS = 60.0


def _header_number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def daily_quota_spent(status_code: int | None, headers: Mapping[str, str]) -> bool:
    """A 429 for a spent daily quota (e.g. analytics): not the per-minute window."""
    return status_code == 429 and headers.get("daily-ratelimit-remaining") == "0"


class RateBudget:
    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limit = per_minute
        self.remaining = per_minute
        self.reset_at = clock() + WINDOW_SECONDS
        self.in_flight = 0
        self.waits = 0
        self._clock = clock
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max_in_flight)
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        await self._slots.acquire()
        async with self._lock:
            while True:
                now = self._clock()
                if now >= self.reset_at:
                    self._start_window(
                        now + WINDOW_SECONDS, self.limit - self.in_flight
                    )
                if self.remaining > 0:
                    break
                self.waits += 1
                await self._sleep(self.reset_at - now)
            self.remaining -= 1
            self.in_flight += 1

    def release(self, status_code: int | None, headers: Mapping[str, str]) -> None:
        self.in_flight -= 1
        self._slots.release()
        if status_code == 429 and not daily_quota_spent(status_code, headers):
            reset = _header_number(headers, "ratelimit-reset")
            self._start_window(
                self._clock() + (reset if reset is not None else WINDOW_SECONDS), 0
            )
            return
        self._learn(headers)

    def _learn(self, headers: Mapping[str, str]) -> None:
        limit = _header_number(headers, "ratelimit-limit")
        remaining = _header_number(headers, "ratelimit-remaining")
        reset = _header_number(headers, "ratelimit-reset")
        if limit is not None and limit > 0:
            self.limit = int(limit)
        if remaining is None or reset is None:
            return
        server_reset_at = self._clock() + reset
        server_remaining = int(remaining) - self.in_flight
        if server_reset_at > self.reset_at + 1:
            # The server is already in a later window than we thought.
            self._start_window(server_reset_at, server_remaining)
        else:
            self.reset_at = min(self.reset_at, server_reset_at)
            self.remaining = max(0, min(self.remaining, server_remaining))

    def _start_window(self, reset_at: float, remaining: int) -> None:
        self.reset_at = reset_at
        self.remaining = max(0, remaining)


_shared_budget: RateBudget | None = None


def shared_rate_budget() -> RateBudget:
    global _shared_budget
    if _shared_budget is None:
        _shared_budget = RateBudget()
    return _shared_budget
