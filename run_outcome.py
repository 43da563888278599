"""Carries the outcome of a one-off (ONCE) run, full or incremental, to the exit code.

How Ocean 0.56 ends a ONCE run: its listener runs the resync (or, with
`incrementalSyncEnabled`, `sync_incremental`), logs any exception, and raises
SIGINT. uvicorn then shuts down gracefully (the app's lifespan shutdown runs
the callbacks registered with Ocean's `signal_handler`), restores the SIGINT
handler it found at start and raises the signal again; the default handler's
KeyboardInterrupt is swallowed by `uvicorn.run`. So a ONCE run exits 0 whatever
happened, and the incremental path never even reports a failure to Port.

Here, public API only:
- the outcome is settled at shutdown, in a `signal_handler` callback. A full
  resync succeeded when Ocean ran the `on_resync_complete` hooks (it runs them
  only after a reconciliation without errors), or when the mapping has no
  resources (Ocean's no-op resync). An incremental run succeeded when every
  incremental block's cursor moved past this run's start: Ocean advances a
  block's cursor only when the block synced without errors, and stops at the
  first block that did not.
- the SIGINT handler installed before uvicorn starts is the one uvicorn
  restores and re-raises. Unless the run was confirmed successful it logs, as
  the last line, why the run failed and raises SystemExit(1): the interpreter
  then exits normally, every exit handler included.
"""

import signal
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from loguru import logger
from port_ocean.context.event import event_context
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.incremental import CursorStore
from port_ocean.core.models import EventListenerType
from port_ocean.utils.signal import signal_handler

FAILED_RUN_EXIT_CODE = 1
# After Ocean's own shutdown callbacks (100: report an aborted resync to Port).
SETTLE_PRIORITY = 50
REASON_LENGTH = 400
OUTCOME_EXTRA = "pagerduty_once_outcome"


def first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= REASON_LENGTH else line[: REASON_LENGTH - 1] + "…"


@dataclass
class RunOutcome:
    """What one ONCE run did; `failure` is None only once success is confirmed."""

    incremental: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    resync_started: bool = False
    resync_completed: bool = False
    settled: bool = False
    failure: str | None = None
    first_error: str | None = None

    @property
    def sync(self) -> str:
        return "incremental sync" if self.incremental else "resync"

    def verdict(self) -> str | None:
        """Why the run failed, or None when it is confirmed successful."""
        if not self.settled:
            return (
                "the run ended before its outcome was known (interrupted, or Ocean "
                "did not run its shutdown callbacks)"
            )
        return self.failure

    def remember_error(self, message: Any) -> None:
        """A loguru sink: the first error logged during the run, as the why."""
        record = message.record
        if self.first_error is None and not record["extra"].get(OUTCOME_EXTRA):
            self.first_error = first_line(str(record["message"]))

    def last_line(self, reason: str) -> str:
        line = f"The one-off {self.sync} failed: {reason}"
        if self.first_error:
            line += f"; first error: {self.first_error}"
        return f"{line}. Exiting with code {FAILED_RUN_EXIT_CODE}."

    async def settle(self) -> None:
        try:
            if self.incremental:
                self.failure = await incremental_failure(self.started_at)
            else:
                self.failure = await full_resync_failure(self)
        except Exception as error:  # noqa: BLE001 - any doubt is a failure
            self.failure = (
                f"its outcome could not be confirmed ({first_line(str(error))})"
            )
        self.settled = True


async def mapped_resources() -> list[ResourceConfig]:
    """The resource blocks of the integration's mapping (cached by Ocean)."""
    async with event_context(OUTCOME_EXTRA):
        config = await ocean.integration.port_app_config_handler.get_port_app_config()
    return list(config.resources)


async def full_resync_failure(outcome: RunOutcome) -> str | None:
    if outcome.resync_completed:
        return None
    if outcome.resync_started:
        return "the resync did not complete (Ocean skipped its completion hooks)"
    if not await mapped_resources():
        return None  # an empty mapping: Ocean's resync is a no-op
    return "the resync did not start"


async def incremental_failure(started_at: datetime) -> str | None:
    """Blocks whose cursor Ocean did not advance during this run, if any."""
    incremental_kinds = ocean.integration.event_strategy.incremental
    store = CursorStore(ocean.port_client)
    # Cursors may come back with less precision than they went in.
    since = started_at.replace(microsecond=0)
    behind: list[str] = []
    for index, resource in enumerate(await mapped_resources()):
        if not incremental_kinds.get(resource.kind):
            continue
        cursor = await store.get(resource.kind, index)
        if cursor is None or cursor < since:
            behind.append(f"'{resource.kind}' (block #{index})")
    if not behind:
        return None
    return (
        f"the cursor of {', '.join(behind)} was not advanced, so that block did not "
        "sync without errors (the next run retries from the same point)"
    )


outcome = RunOutcome()


def carry_once_outcome_to_exit_code() -> None:
    """Call at import of main.py (before uvicorn starts): ONCE runs only."""
    config = ocean.app.config
    if config.event_listener.type != EventListenerType.ONCE:
        return
    if not config.event_listener.should_resync:  # e.g. a connection probe
        return
    outcome.incremental = config.integration.incremental_sync_enabled
    outcome.started_at = datetime.now(UTC)
    logger.add(outcome.remember_error, level="ERROR", format="{message}")
    signal_handler.register(outcome.settle, priority=SETTLE_PRIORITY)
    previous = signal.getsignal(signal.SIGINT)

    def exit_with_outcome(signum: int, frame: FrameType | None) -> None:
        reason = outcome.verdict()
        if reason is None:
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                signal.default_int_handler(signum, frame)
            return
        logger.bind(**{OUTCOME_EXTRA: True}).error(outcome.last_line(reason))
        logger.complete()
        sys.stdout.flush()
        sys.stderr.flush()
        raise SystemExit(FAILED_RUN_EXIT_CODE)

    signal.signal(signal.SIGINT, exit_with_outcome)
