"""run_outcome: how a ONCE run's outcome is settled and carried to the exit code.
The end-to-end path (a real `ocean sail`) is in tests/e2e/test_incremental.py."""

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from loguru import logger
from port_ocean.core.models import EventListenerType

import run_outcome
from run_outcome import RunOutcome

START = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)


def resources(*kinds: str) -> list[Any]:
    return [SimpleNamespace(kind=kind) for kind in kinds]


@pytest.fixture
def mapping(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    blocks: list[Any] = []

    async def mapped_resources() -> list[Any]:
        return blocks

    monkeypatch.setattr(run_outcome, "mapped_resources", mapped_resources)
    return blocks


@pytest.fixture
def cursors(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, int], Any]:
    stored: dict[tuple[str, int], Any] = {}

    class Store:
        def __init__(self, port_client: Any) -> None: ...

        async def get(self, kind: str, index: int) -> datetime | None:
            value = stored.get((kind, index))
            if isinstance(value, Exception):
                raise value
            return value

    monkeypatch.setattr(run_outcome, "CursorStore", Store)
    monkeypatch.setattr(
        run_outcome,
        "ocean",
        SimpleNamespace(
            port_client=None,
            integration=SimpleNamespace(
                event_strategy=SimpleNamespace(incremental={"incidents": [object()]})
            ),
        ),
    )
    return stored


async def settled(outcome: RunOutcome) -> str | None:
    await outcome.settle()
    return outcome.verdict()


async def test_a_full_resync_succeeded_only_when_its_completion_hooks_ran(
    mapping: list[Any],
) -> None:
    mapping += resources("services")
    assert await settled(RunOutcome(resync_started=True, resync_completed=True)) is None
    reason = await settled(RunOutcome(resync_started=True))
    assert reason is not None and "did not complete" in reason
    reason = await settled(RunOutcome())
    assert reason is not None and "did not start" in reason


async def test_an_empty_mapping_is_a_successful_no_op(mapping: list[Any]) -> None:
    assert await settled(RunOutcome()) is None


async def test_an_incremental_run_succeeded_when_every_cursor_moved_past_its_start(
    mapping: list[Any], cursors: dict[tuple[str, int], Any]
) -> None:
    mapping += resources("services", "incidents", "incidents")
    # Port may give the cursor back truncated (here, to whole seconds).
    cursors[("incidents", 1)] = START.replace(microsecond=0)
    cursors[("incidents", 2)] = START + timedelta(seconds=3)
    outcome = RunOutcome(incremental=True, started_at=START)
    assert await settled(outcome) is None


async def test_a_block_whose_cursor_stayed_put_fails_the_incremental_run(
    mapping: list[Any], cursors: dict[tuple[str, int], Any]
) -> None:
    mapping += resources("incidents", "incidents")
    cursors[("incidents", 0)] = START + timedelta(seconds=3)
    cursors[("incidents", 1)] = START - timedelta(minutes=15)
    reason = await settled(RunOutcome(incremental=True, started_at=START))
    assert reason is not None
    assert "'incidents' (block #1)" in reason and "block #0" not in reason
    del cursors[("incidents", 1)]  # a first run that failed stores none
    assert await settled(RunOutcome(incremental=True, started_at=START)) is not None


async def test_an_unconfirmable_outcome_is_a_failure(
    mapping: list[Any], cursors: dict[tuple[str, int], Any]
) -> None:
    mapping += resources("incidents")
    cursors[("incidents", 0)] = ConnectionError("Port is unreachable")
    reason = await settled(RunOutcome(incremental=True, started_at=START))
    assert (
        reason is not None and "could not be confirmed (Port is unreachable)" in reason
    )


def test_an_unsettled_run_is_never_a_success() -> None:
    reason = RunOutcome(resync_completed=True).verdict()
    assert reason is not None and "before its outcome was known" in reason


def test_the_last_line_says_why_and_quotes_the_first_error() -> None:
    outcome = RunOutcome(incremental=True)
    line = outcome.last_line("the cursor of 'incidents' (block #0) was not advanced")
    assert line.startswith("The one-off incremental sync failed: the cursor")
    assert line.endswith("Exiting with code 1.")
    record = {"message": "PagerDuty GET /log_entries failed: 500\ndetails", "extra": {}}
    outcome.remember_error(SimpleNamespace(record=record))
    outcome.remember_error(SimpleNamespace(record={"message": "later", "extra": {}}))
    assert "; first error: PagerDuty GET /log_entries failed: 500." in (
        outcome.last_line("x")
    )


@pytest.fixture
def once_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunOutcome]:
    """carry_once_outcome_to_exit_code() as main.py calls it, in a ONCE run."""
    config = SimpleNamespace(
        event_listener=SimpleNamespace(type=EventListenerType.ONCE, should_resync=True),
        integration=SimpleNamespace(incremental_sync_enabled=False),
    )
    registered: list[Any] = []
    monkeypatch.setattr(
        run_outcome, "ocean", SimpleNamespace(app=SimpleNamespace(config=config))
    )
    monkeypatch.setattr(
        run_outcome,
        "signal_handler",
        SimpleNamespace(register=lambda f, priority: registered.append(f)),
    )
    outcome = RunOutcome()
    monkeypatch.setattr(run_outcome, "outcome", outcome)
    sinks: list[int] = []
    real_add = logger.add
    monkeypatch.setattr(logger, "add", lambda *a, **k: sinks.append(real_add(*a, **k)))
    previous = signal.getsignal(signal.SIGINT)
    try:
        run_outcome.carry_once_outcome_to_exit_code()
        assert registered == [outcome.settle]
        yield outcome
    finally:
        signal.signal(signal.SIGINT, previous)
        for sink in sinks:
            logger.remove(sink)


def test_a_failed_once_run_exits_1_when_uvicorn_re_raises_sigint(
    once_run: RunOutcome,
) -> None:
    once_run.settled, once_run.failure = True, "the resync did not complete"
    with pytest.raises(SystemExit) as exited:
        signal.raise_signal(signal.SIGINT)
    assert exited.value.code == 1


def test_a_successful_once_run_keeps_the_usual_interrupt(once_run: RunOutcome) -> None:
    once_run.settled = True
    with pytest.raises(KeyboardInterrupt):  # uvicorn.run swallows it: exit 0
        signal.raise_signal(signal.SIGINT)
