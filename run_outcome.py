"""Carries the result of a one-off (ONCE) resync to the process exit code.

Ocean's ONCE listener ends the process through SIGINT and exits 0 even when the
resync failed, which would keep a scheduled GitHub Actions job green. Every
resync outcome passes through the resync-state updater, so that is where we
listen; the exit code is set once the server has shut down.
"""

import atexit
import os
import sys
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.models import EventListenerType
from port_ocean.utils.misc import IntegrationStateStatus

FAILED_RESYNC_EXIT_CODE = 1


class ResyncOutcome:
    def __init__(self) -> None:
        self.status: IntegrationStateStatus | None = None

    @property
    def failed(self) -> bool:
        return self.status not in (None, IntegrationStateStatus.Completed)


outcome = ResyncOutcome()


def exit_nonzero_when_once_resync_fails() -> None:
    if ocean.event_listener_type != EventListenerType.ONCE:
        return
    updater = ocean.app.resync_state_updater
    report_to_port = updater.update_after_resync

    async def report_and_remember(
        status: Any = IntegrationStateStatus.Completed, *args: Any, **kwargs: Any
    ) -> None:
        outcome.status = status
        await report_to_port(status, *args, **kwargs)

    updater.update_after_resync = report_and_remember  # type: ignore[method-assign]
    atexit.register(exit_with_outcome)


def exit_with_outcome() -> None:
    if not outcome.failed:
        return
    status = outcome.status.value if outcome.status else "unknown"
    logger.error(
        f"The one-off resync ended as '{status}'; exiting with code "
        f"{FAILED_RESYNC_EXIT_CODE}. Nothing was deleted from Port; see the errors above."
    )
    logger.complete()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(FAILED_RESYNC_EXIT_CODE)
