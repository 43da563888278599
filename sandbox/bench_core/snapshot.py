"""The objects a full resync yields, read from a running simulator (untimed).

They are read with the integration's own client and exporters, using the bench
mapping's selectors: services with their `__oncall_user` enrichment, and every
incident (`date_range: all`, windowed past the 10,000 cap). So the core floor
replays exactly what the integration hands Ocean.

Rate limiting and latency are switched off while reading and restored after;
the request counters and the rate window are reset, so the timed run starts
from zero.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from client import PagerDutyClient
from exporters.incidents import IncidentExporter
from exporters.services import ServiceExporter, policy_id
from integration import IncidentSelector, ServiceSelector
from sandbox.bench_core.jsonl import JSON


@dataclass
class Snapshot:
    services: list[JSON] = field(default_factory=list)
    incidents: list[JSON] = field(default_factory=list)

    @property
    def policies_with_services(self) -> int:
        return len({pid for s in self.services if (pid := policy_id(s))})


def selector_of(mapping: dict[str, Any], kind: str) -> dict[str, Any]:
    (block,) = [b for b in mapping["resources"] if b["kind"] == kind]
    selector: dict[str, Any] = block["selector"]
    return selector


async def read_objects(base_url: str, token: str, mapping: dict[str, Any]) -> Snapshot:
    async with httpx.AsyncClient(timeout=120) as http:
        client = PagerDutyClient(token, base_url, http_client=http)
        services = ServiceExporter(client).pages(
            ServiceSelector.parse_obj(selector_of(mapping, "services"))
        )
        incidents = IncidentExporter(client).pages(
            IncidentSelector.parse_obj(selector_of(mapping, "incidents"))
        )
        return Snapshot(
            [s async for page in services for s in page],
            [i async for page in incidents for i in page],
        )


@contextmanager
def unthrottled(base_url: str) -> Iterator[None]:
    """No rate limit or latency while reading; then the old config, zeroed counters."""
    with httpx.Client(base_url=base_url, timeout=30) as control:
        old = control.get("/_sim/config").json()
        control.post("/_sim/config", json={"rate_limit_per_minute": 0, "latency_ms": 0})
        try:
            yield
        finally:
            restored = {k: old[k] for k in ("rate_limit_per_minute", "latency_ms")}
            control.post("/_sim/config", json=restored)
            control.post("/_sim/rate_limit/reset")
            control.post("/_sim/counters/reset")


def read_snapshot(base_url: str, token: str, mapping: dict[str, Any]) -> Snapshot:
    with unthrottled(base_url):
        return asyncio.run(read_objects(base_url, token, mapping))
