"""The benchmark's actions figure: its floor and how it is printed."""

import pytest

from sandbox.bench_core.actions_burst import BurstFloor, render_burst


def test_the_burst_floor_is_one_write_per_run_at_the_budget_pace() -> None:
    floor = BurstFloor(runs=100, limit_per_window=150, window_seconds=10)
    assert floor.requests_per_second == 15
    assert floor.seconds == pytest.approx(100 / 15)


def test_the_burst_is_rendered_with_its_floor_and_429s() -> None:
    lines = render_burst(
        {
            "runs": 100,
            "succeeded": 100,
            "budget": "150 requests / 10 s",
            "status_429": 0,
            "seconds": 22.1,
            "rate_floor_seconds": 6.67,
            "wall_over_rate_floor": 3.31,
            "api_calls": 300,
            "api_calls_by_endpoint": {"PUT /incidents/{id}": 100},
            "pace_of_its_requests_seconds": 20.0,
            "rate_floor_formula": "rate floor = ...",
        }
    )
    text = "\n".join(lines)
    assert "succeeded 100/100, 429s: 0, total 22.1 s; rate floor 6.7 s" in text
    assert "3.31x" in text and "take 20.0 s" in text
