"""Resync progress lines: moving counts of the kind's own listing, a final line."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from loguru import logger

import progress
from progress import Progress, report_total, tracked


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lines() -> Any:
    captured: list[str] = []
    sink = logger.add(lambda message: captured.append(message.record["message"]))
    yield captured
    logger.remove(sink)


def test_one_line_at_most_every_ten_seconds_with_total_rate_and_time_left(
    lines: list[str],
) -> None:
    clock = Clock()
    tracker = Progress("incidents", clock)
    tracker.add_expected(1000)
    for _ in range(30):
        clock.now += 1
        tracker.add_read(10)
    assert lines == [
        "Resync progress, incidents: 100 of 1,000 read (10%), 10/s, about 90 s left",
        "Resync progress, incidents: 200 of 1,000 read (20%), 10/s, about 80 s left",
        "Resync progress, incidents: 300 of 1,000 read (30%), 10/s, about 70 s left",
    ]


async def pages(count: int) -> AsyncIterator[list[Any]]:
    report_total("/services", count)
    report_total("/oncalls", 999)  # enrichment of services: not counted
    for start in range(0, count, 100):
        yield [{}] * min(100, count - start)


async def test_tracked_counts_the_kinds_own_listing_and_ends_with_a_summary(
    lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Progress] = []
    original = progress.Progress

    def spy(kind: str) -> Progress:
        tracker = original(kind)
        seen.append(tracker)
        return tracker

    monkeypatch.setattr(progress, "Progress", spy)
    batches = [b async for b in tracked("services", pages(250))]
    assert sum(len(b) for b in batches) == 250
    (tracker,) = seen
    assert tracker.expected == 250 and tracker.read == 250
    assert lines[-1].startswith("Resync of services read 250 objects in ")


def test_a_long_wait_before_the_first_batch_is_said_and_not_extrapolated(
    lines: list[str],
) -> None:
    clock = Clock()
    tracker = Progress("services", clock)
    tracker.add_expected(2000)
    tracker.add_listed(2000)  # listed in seconds, then enriched for minutes
    clock.now = 10
    tracker.tick()
    clock.now = 106
    tracker.add_read(100)
    clock.now = 116
    tracker.add_read(1000)
    assert lines == [
        "Resync progress, services: nothing handed to Ocean yet after 10 s; "
        "2,000 listed from PagerDuty so far",
        "Resync progress, services: 100 of 2,000 read (5%); "
        "2,000 listed from PagerDuty so far",
        "Resync progress, services: 1,100 of 2,000 read (55%), 100/s, about 9 s left"
        "; 2,000 listed from PagerDuty so far",
    ]


async def test_tracked_writes_a_line_on_a_timer_while_nothing_is_handed_over(
    lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY", 0.05)

    async def slow() -> AsyncIterator[list[Any]]:
        report_total("/services", 10)
        await asyncio.sleep(0.2)
        yield [{}] * 10

    assert [len(b) async for b in tracked("services", slow())] == [10]
    waiting = [line for line in lines if "nothing handed to Ocean yet" in line]
    assert waiting, lines
    assert lines[-1].startswith("Resync of services read 10 objects in ")
