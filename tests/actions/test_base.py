"""The rate budget answers Ocean's rate-limit questions; runs on one object take
turns in claim order; PagerDuty failures become one line without the token."""

import asyncio

import pytest

from actions.base import REQUESTS_PER_RUN, seconds_until_budget, translate
from actions.ordering import TurnTaking
from client import (
    PagerDutyAuthError,
    PagerDutyError,
    PagerDutyForbiddenError,
    PagerDutyUnreachableError,
)
from rate_budget import RateBudget


def test_a_run_waits_only_while_the_window_has_too_little_left() -> None:
    budget = RateBudget(per_minute=960, clock=lambda: 100.0)
    assert seconds_until_budget(budget, now=100.0) == 0.0
    budget.remaining = REQUESTS_PER_RUN - 1
    assert seconds_until_budget(budget, now=100.0) == pytest.approx(60.0)
    assert seconds_until_budget(budget, now=150.0) == pytest.approx(10.0)
    # Past the reset the budget opens a new window on its next request: no wait,
    # or Ocean would spin on a zero-second backoff.
    assert seconds_until_budget(budget, now=160.0) == 0.0


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            PagerDutyForbiddenError("refused, token ending in 'cdef'"),
            "(403 Forbidden): the integration's PagerDuty token may not write",
        ),
        (PagerDutyAuthError("x"), "rejected the integration's token"),
        (PagerDutyUnreachableError("Could not reach PagerDuty at u"), "reach"),
        (PagerDutyError("PagerDuty PUT u failed: 400 Bad"), "failed: 400 Bad"),
    ],
)
def test_failures_are_one_line_naming_cause_and_fix(
    error: PagerDutyError, expected: str
) -> None:
    message = str(translate(error, "acknowledge incident P1", "incidents.write"))
    assert expected in message
    assert "\n" not in message and "cdef" not in message


async def test_runs_on_one_object_take_turns_in_claim_order() -> None:
    turns = TurnTaking()
    for run_id in ("r1", "r2", "r3"):
        turns.take("incident:P1", run_id)
    turns.take("incident:P2", "other")
    order: list[str] = []

    async def run(run_id: str, key: str = "incident:P1") -> None:
        await turns.wait_turn(key, run_id)
        order.append(run_id)
        await asyncio.sleep(0.01)
        await turns.done(key, run_id)

    # Started in the wrong order (Ocean queues them per action), run in order.
    await asyncio.gather(run("r3"), run("r2"), run("other", "incident:P2"), run("r1"))
    assert order.index("r1") < order.index("r2") < order.index("r3")
    assert turns.queues == {}


async def test_a_run_that_never_starts_does_not_stall_its_object() -> None:
    now = [0.0]
    turns = TurnTaking(patience=60, clock=lambda: now[0])
    turns.take("incident:P1", "lost")  # e.g. acknowledged by another replica
    turns.take("incident:P1", "next")
    assert not turns.my_turn("incident:P1", "next")
    turns.seen("incident:P1", "lost")  # Ocean still handles it (rate-limit wait)
    now[0] = 59
    assert not turns.my_turn("incident:P1", "next")
    now[0] = 120
    assert turns.my_turn("incident:P1", "next")
    assert turns.my_turn("incident:P1", "untracked")  # no ticket: no wait
