"""Resync progress lines: moving counts of the kind's own listing, a final line."""

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
