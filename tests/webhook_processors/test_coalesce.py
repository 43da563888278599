"""Coalescing: one fetch serves every delivery it can, never a stale state."""

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis

from sandbox.stack import free_port
from webhook_processors.coalesce import (
    CLOCK_MARGIN,
    Coalescer,
    MemoryFetchRecord,
    RedisFetchRecord,
)


class Counting:
    """A fetch that counts its calls and can fail or be slow."""

    def __init__(self, delay: float = 0.0, fail: int = 0) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("PagerDuty 502")
        return {"id": "Q1", "version": self.calls}


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


async def test_deliveries_arriving_together_share_one_fetch() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.05)
    fetch = Counting()
    results = await asyncio.gather(
        *(coalescer.current("incidents Q1", ago(0), fetch) for _ in range(20))
    )
    assert fetch.calls == 1
    assert sum(1 for r in results if not r.served) == 1, "one delivery writes"


async def test_a_late_delivery_of_an_event_older_than_a_fetch_needs_none() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.0)
    fetch = Counting()
    await coalescer.current("incidents Q1", ago(0), fetch)
    late = await coalescer.current("incidents Q1", ago(CLOCK_MARGIN + 60), fetch)
    assert late.served and fetch.calls == 1


async def test_an_event_newer_than_the_last_fetch_is_fetched_again() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.0)
    fetch = Counting()
    await coalescer.current("incidents Q1", ago(0), fetch)
    newer = await coalescer.current(
        "incidents Q1", datetime.now(UTC) + timedelta(seconds=1), fetch
    )
    assert not newer.served and fetch.calls == 2
    unknown_time = await coalescer.current("incidents Q1", None, fetch)
    assert not unknown_time.served and fetch.calls == 3, "no time: never skipped"


async def test_other_objects_are_not_served_by_this_fetch() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.0)
    fetch = Counting()
    await coalescer.current("incidents Q1", ago(0), fetch)
    other = await coalescer.current("incidents Q2", ago(60), fetch)
    assert not other.served and fetch.calls == 2


async def test_when_the_joined_fetch_fails_a_joiner_fetches_itself() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.05)
    fetch = Counting(fail=1)
    first, second = await asyncio.gather(
        coalescer.current("incidents Q1", ago(0), fetch),
        coalescer.current("incidents Q1", ago(0), fetch),
        return_exceptions=True,
    )
    assert isinstance(first, RuntimeError)
    assert not isinstance(second, BaseException) and second.state is not None
    assert fetch.calls == 2


async def test_a_running_fetch_serves_events_that_occurred_before_it_started() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.0)
    fetch = Counting(delay=0.2)
    running = asyncio.ensure_future(coalescer.current("incidents Q1", ago(0), fetch))
    await asyncio.sleep(0.05)  # the first fetch is under way
    older, fresh = await asyncio.gather(
        coalescer.current("incidents Q1", ago(CLOCK_MARGIN + 5), fetch),
        coalescer.current("incidents Q1", ago(0), fetch),
    )
    assert not (await running).served
    assert older.served, "occurred before the running fetch started: joins it"
    assert not fresh.served, "may be newer than what the running fetch reads"
    assert fetch.calls == 2


async def test_an_older_fetch_finishing_after_a_newer_one_writes_nothing() -> None:
    """Several event workers: a slow fetch must not overwrite the newer state a
    later, faster fetch already wrote."""
    coalescer = Coalescer(MemoryFetchRecord(), window=0.0)
    started = 0

    async def fetch() -> dict[str, Any]:
        nonlocal started
        started += 1
        version = started  # what PagerDuty had when this fetch started
        await asyncio.sleep(0.3 if version == 1 else 0.0)
        return {"id": "Q1", "version": version}

    slow = asyncio.ensure_future(coalescer.current("incidents Q1", ago(0), fetch))
    await asyncio.sleep(0.05)
    fast = await coalescer.current("incidents Q1", datetime.now(UTC), fetch)
    assert fast.state == {"id": "Q1", "version": 2}
    older = await slow
    assert older.served and older.state is None


async def test_a_cancelled_fetch_leaves_its_joiners_to_fetch_themselves() -> None:
    coalescer = Coalescer(MemoryFetchRecord(), window=0.05)
    fetch = Counting(delay=0.2)
    first = asyncio.ensure_future(coalescer.current("incidents Q1", ago(0), fetch))
    await asyncio.sleep(0.01)
    joiner = asyncio.ensure_future(coalescer.current("incidents Q1", ago(0), fetch))
    await asyncio.sleep(0.1)  # both waiting on the first fetch
    first.cancel()
    result = await joiner
    assert not result.served and result.state is not None
    assert fetch.calls == 2


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = Path(sys.executable).parent / "redis-server"
    port = free_port()
    process = subprocess.Popen(
        [str(server), "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    url = f"redis://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            if redis.Redis.from_url(url).ping():
                break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait()


async def test_replicas_share_fetch_times_through_redis(redis_url: str) -> None:
    replica_a = Coalescer(RedisFetchRecord(redis_url, MemoryFetchRecord()), window=0)
    replica_b = Coalescer(RedisFetchRecord(redis_url, MemoryFetchRecord()), window=0)
    fetch = Counting()
    await replica_a.current("incidents Q9", ago(0), fetch)
    late_on_b = await replica_b.current("incidents Q9", ago(CLOCK_MARGIN + 30), fetch)
    assert late_on_b.served and fetch.calls == 1
