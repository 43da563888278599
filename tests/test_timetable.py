"""timetable.py: moments known in advance, per topic and key, handed out once."""

import asyncio
import time

from timetable import Due, Timetable


def test_moments_are_due_after_the_margin_grouped_per_topic_and_moment() -> None:
    clock = Timetable(margin=5)
    clock.set_moments("oncall", "P1", [100])
    clock.set_moments("oncall", "P2", [100, 300])
    clock.set_moments("oncall", "P3", [200])
    clock.set_moments("maintenance", "S1", [100])

    assert clock.pop_due(now=104) == {}
    assert clock.pop_due(now=105) == {
        "oncall": {100: {"P1", "P2"}},
        "maintenance": {100: {"S1"}},
    }
    assert clock.pop_due(now=105) == {}  # handed out once
    assert clock.next_moment() == 200
    assert clock.moments("oncall") == {"P2": {300}, "P3": {200}}
    assert clock.pop_due(now=1000) == {"oncall": {200: {"P3"}, 300: {"P2"}}}
    assert clock.next_moment() is None


def test_setting_a_keys_moments_replaces_the_ones_it_had() -> None:
    clock = Timetable(margin=0)
    clock.set_moments("oncall", "P1", [100, 200])
    clock.set_moments("oncall", "P1", [150])
    assert clock.next_moment() == 150
    assert clock.pop_due(now=1000) == {"oncall": {150: {"P1"}}}

    clock.set_moments("oncall", "P1", [100])
    clock.set_moments("oncall", "P1", [])  # e.g. only permanent on-calls now
    clock.add_moment("maintenance", "S1", 120)
    clock.add_moment("maintenance", "S1", 110)
    assert clock.pop_due(now=1000) == {"maintenance": {110: {"S1"}, 120: {"S1"}}}


async def test_the_clock_runs_each_topic_once_per_wake_and_survives_a_failure() -> None:
    clock = Timetable(margin=0.05)
    seen: list[tuple[str, Due]] = []

    async def oncall(due: Due) -> None:
        seen.append(("oncall", due))

    async def broken(due: Due) -> None:
        raise RuntimeError("boom")

    clock.on("oncall", oncall)
    clock.on("maintenance", broken)
    now = time.time()
    clock.set_moments("oncall", "P1", [now - 60])  # already past: due at once
    clock.set_moments("oncall", "P2", [now - 60])
    clock.set_moments("maintenance", "S1", [now])
    runner = asyncio.create_task(clock.run())
    try:
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.02)
        assert seen == [("oncall", {now - 60: {"P1", "P2"}})]
        # A far moment, then a nearer one: the clock wakes for the nearer one.
        clock.set_moments("oncall", "P3", [time.time() + 3600])
        await asyncio.sleep(0.05)
        soon = time.time() + 0.1
        clock.set_moments("oncall", "P4", [soon])
        for _ in range(100):
            if len(seen) == 2:
                break
            await asyncio.sleep(0.02)
        assert seen[1] == ("oncall", {soon: {"P4"}})
        assert not runner.done()  # the broken topic did not stop it
    finally:
        runner.cancel()
