"""Deterministic PagerDuty-shaped data for the simulator.

Everything is generated from one ``random.Random(seed)`` so the same seed
yields the same ids, names and relative timestamps. Only the wall-clock
anchor (``now``) moves unless it is pinned.
"""

from __future__ import annotations

import gc
from datetime import datetime

from sandbox.pagerduty.data_context import BuildContext, DataSizes
from sandbox.pagerduty.data_graph import build_graph
from sandbox.pagerduty.data_incidents import build_incidents
from sandbox.pagerduty.data_people import (
    build_schedules_and_policies,
    build_teams,
    build_users,
)
from sandbox.pagerduty.data_services import (
    build_business_services,
    build_priorities,
    build_services,
)
from sandbox.pagerduty.store import PdStore

__all__ = ["DataSizes", "generate"]


def generate(
    seed: int,
    sizes: DataSizes,
    base_url: str,
    html_base: str = "https://sandbox.pagerduty.local",
    now: datetime | None = None,
) -> PdStore:
    """Generate a complete, internally consistent data set."""
    store = PdStore(
        base_url=base_url.rstrip("/"), html_base=html_base.rstrip("/"), now_override=now
    )
    gc_was_enabled = gc.isenabled()
    gc.disable()  # generation allocates ~1M long-lived objects; cyclic GC only slows it down
    try:
        ctx = BuildContext(seed, sizes, store)
        build_teams(ctx)
        build_users(ctx)
        build_schedules_and_policies(ctx)
        build_services(ctx)
        build_priorities(ctx)
        build_business_services(ctx)
        build_incidents(ctx)
        build_graph(ctx)  # last: the data generated before it stays as it was
        return store
    finally:
        if gc_was_enabled:
            gc.enable()
