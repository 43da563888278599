"""What every PagerDuty action executor shares.

A run goes: inputs checked (nothing asked of PagerDuty when they are wrong),
the acting user found, the write made through the one shared client (so it
spends the process-wide rate budget), the changed objects re-read and written
to Port through the resource blocks (`actions.write_through`), then the run is
reported `SUCCESS` with one line saying what changed. Ocean reports failures
itself: every expected one is an `ActionExecutionError` whose message is one
line naming the cause and the fix; PagerDuty's answers are translated here, and
no message carries the token.
"""

import time
from abc import abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.webhook.abstract_webhook_processor import (
    AbstractWebhookProcessor,
)
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError

from actions.inputs import Properties
from actions.ordering import turn_taking
from actions.write_through import Written
from client import (
    PagerDutyAuthError,
    PagerDutyClient,
    PagerDutyError,
    PagerDutyForbiddenError,
    PagerDutyNotFoundError,
    PagerDutyQuotaError,
    PagerDutyUnreachableError,
    shared_pagerduty_client,
)
from ocean_seams import PartitionedExecutor
from rate_budget import RateBudget, shared_rate_budget
from webhook_processors.subscription import WEBHOOK_PATH

# Requests one run may spend (read, write, note, re-read); below this many left
# in the window, a run waits for the window to reset before it is acknowledged.
REQUESTS_PER_RUN = 4


class PagerDutyRefused(ActionExecutionError):
    DEFAULT_STATUS_LABEL = "PagerDuty refused"


class NotInPagerDuty(ActionExecutionError):
    DEFAULT_STATUS_LABEL = "Not found"


@dataclass(frozen=True)
class Outcome:
    """What a run did, reported as its last log line."""

    message: str
    changed: bool = True


def seconds_until_budget(budget: RateBudget, now: float | None = None) -> float:
    """Seconds until the budget's window resets, when it has too little left for
    a run (0 when a run can start now)."""
    now = time.monotonic() if now is None else now
    if budget.remaining >= REQUESTS_PER_RUN or now >= budget.reset_at:
        return 0.0
    return budget.reset_at - now


def describe_write(scope: str) -> str:
    return (
        "the integration's PagerDuty token may not write: use a full-access REST "
        f"API key, or an OAuth token with the {scope} scope, as its token setting "
        "(a read-only key can only sync)"
    )


def translate(error: PagerDutyError, what: str, scope: str) -> ActionExecutionError:
    """One line for a PagerDuty failure: the cause and the fix, never the token."""
    if isinstance(error, PagerDutyForbiddenError):
        return PagerDutyRefused(
            f"PagerDuty refused to {what} (403 Forbidden): {describe_write(scope)}."
        )
    if isinstance(error, PagerDutyAuthError):
        return PagerDutyRefused(
            f"PagerDuty rejected the integration's token while trying to {what} "
            "(401): check its token and tokenType settings.",
            status_label="Bad token",
        )
    if isinstance(error, PagerDutyQuotaError | PagerDutyUnreachableError):
        return PagerDutyRefused(f"Could not {what}: {error}")
    if isinstance(error, PagerDutyNotFoundError):
        return NotInPagerDuty(f"Could not {what}: PagerDuty has no such object.")
    hint = " Check the run's inputs." if ": 400 " in str(error) else ""
    return PagerDutyRefused(f"Could not {what}: {error}.{hint}".replace("..", "."))


async def written_to_port(writing: Awaitable[Written]) -> str:
    """What the write-through changed in Port, in a sentence. PagerDuty already
    took the change, so a failure here does not fail the run: it is said, and
    the next resync (or webhook) brings Port up to date."""
    try:
        written = await writing
    except Exception as error:  # noqa: BLE001 - reported in the run's log line
        logger.exception("Action write-through to Port failed")
        return (
            f"not updated ({type(error).__name__}: {error}); the next resync or "
            "webhook brings it up to date."
        )
    return f"{written.summary()}."


class PagerDutyAction(PartitionedExecutor):
    """Base of the executors; subclasses set ACTION_NAME and implement `run_action`."""

    ACTION_NAME: str
    WEBHOOK_PROCESSOR_CLASS: type[AbstractWebhookProcessor] | None = None
    # Unused without a processor; the integration's one webhook path.
    WEBHOOK_PATH = WEBHOOK_PATH
    # The OAuth scope a write needs, for the 403 message.
    WRITE_SCOPE = "incidents.write"

    def __init__(self, client: PagerDutyClient | None = None) -> None:
        self.fixed_client = client

    @property
    def client(self) -> PagerDutyClient:
        return self.fixed_client or shared_pagerduty_client()

    def order_key(self, properties: Properties) -> str | None:
        """The object a run acts on (e.g. `incident:P1`): runs with the same key
        run one at a time, in order (see `ordering`). None: no order needed."""
        return None

    async def partition_key(self, run: IntegrationRun) -> str | None:
        key = self.order_key(run.execution_properties or {})
        if key:
            turn_taking().take(key, run.id)
        return key

    async def is_close_to_rate_limit(self, run: IntegrationRun) -> bool:
        key = self.order_key(run.execution_properties or {})
        if key:
            turn_taking().seen(key, run.id)
        return seconds_until_budget(shared_rate_budget()) > 0

    async def get_remaining_seconds_until_rate_limit(
        self, run: IntegrationRun
    ) -> float:
        return seconds_until_budget(shared_rate_budget())

    async def execute(self, run: IntegrationRun) -> None:
        properties = run.execution_properties or {}
        key = self.order_key(properties)
        if key is None:
            await self.execute_in_turn(run, properties)
            return
        await turn_taking().wait_turn(key, run.id)
        try:
            await self.execute_in_turn(run, properties)
        finally:
            await turn_taking().done(key, run.id)

    async def execute_in_turn(
        self, run: IntegrationRun, properties: dict[str, Any]
    ) -> None:
        try:
            outcome = await self.run_action(properties)
        except ActionExecutionError:
            raise
        except PagerDutyError as error:
            raise translate(
                error, self.describe(properties), self.WRITE_SCOPE
            ) from None
        if not outcome.changed:
            logger.info(f"{self.ACTION_NAME}: {outcome.message}")
        await ocean.port_client.report_run_completed(
            run, success=True, message=outcome.message, should_raise=True
        )

    def describe(self, properties: dict[str, Any]) -> str:
        """What the run tried, for error messages (e.g. 'acknowledge incident P1')."""
        return self.ACTION_NAME.replace("_", " ")

    @abstractmethod
    async def run_action(self, properties: dict[str, Any]) -> Outcome:
        """Check the inputs, act, write the changes through; say what happened."""
