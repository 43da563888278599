"""The integration's mapping as read from Port, refreshed once at a time.

Ocean reads the mapping (port app config) for every request to the
integration's routes, webhook deliveries included, and keeps it for
`port_app_config_cache_ttl` seconds (60). When it expires, every request in
flight finds it expired and reads it from Port itself, each building a new Port
HTTP client (a TLS context, ~40 ms of blocked event loop): in an incident storm
that was dozens of reads at once, every minute, and webhook acknowledgements
waited seconds behind them (`make bench` storm).

Here one read refreshes it at a time: callers that allow the cache get the
mapping they had while a single background read renews it; a caller that asks
for a fresh one (`use_cache=False`, e.g. a resync start) joins the read in
progress or starts one.
"""

import asyncio
import time

from port_ocean.context.event import event
from port_ocean.context.ocean import PortOceanContext
from port_ocean.core.handlers.port_app_config.api import APIPortAppConfig
from port_ocean.core.handlers.port_app_config.models import PortAppConfig

RETRY_SECONDS = 5.0  # after a failed renewal, the stale mapping serves this long


class SingleFlightPortAppConfig(APIPortAppConfig):
    def __init__(self, context: PortOceanContext) -> None:
        super().__init__(context)
        self._latest: PortAppConfig | None = None
        self._read_at = float("-inf")
        self._reading: asyncio.Task[PortAppConfig] | None = None

    async def get_port_app_config(self, use_cache: bool = True) -> PortAppConfig:
        if self._latest is None or not use_cache:
            config = await asyncio.shield(self._read_once())
        else:
            config = self._latest
            if time.monotonic() - self._read_at >= self.cache_seconds:
                self._read_once()  # renewed in the background
        event.port_app_config = config  # as Ocean's own handler does for its caller
        return config

    @property
    def cache_seconds(self) -> float:
        return float(self.context.config.port.port_app_config_cache_ttl)

    def _read_once(self) -> "asyncio.Task[PortAppConfig]":
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(_retrieve_failure)
        return self._reading

    async def _read(self) -> PortAppConfig:
        try:
            config = await super().get_port_app_config(use_cache=False)
        except Exception:
            self._read_at = time.monotonic() - self.cache_seconds + RETRY_SECONDS
            raise
        self._latest, self._read_at = config, time.monotonic()
        return config


def _retrieve_failure(task: "asyncio.Task[PortAppConfig]") -> None:
    """A failed background renewal is retried by the next caller; the error
    itself was logged by Ocean's read."""
    if not task.cancelled():
        task.exception()
