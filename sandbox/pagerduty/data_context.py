"""What every data-generation step shares: the seeded random source and sizes."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sandbox.pagerduty.schedules import DEFAULT_SHIFT_MINUTES
from sandbox.pagerduty.store import IdFactory, PdStore

INCIDENT_SPAN_DAYS = 730
RECENT_DAYS = 7


@dataclass
class DataSizes:
    services: int = 20
    incidents: int = 200
    teams: int = 4
    users: int = 30
    shift_minutes: float = DEFAULT_SHIFT_MINUTES


class BuildContext:
    """The seeded random source, the sizes and the store being filled.

    Every step draws from the one ``rng`` in a fixed order, so the same seed
    yields the same ids, names and relative timestamps.
    """

    def __init__(self, seed: int, sizes: DataSizes, store: PdStore) -> None:
        self.rng = random.Random(seed)
        self.sizes = sizes
        self.store = store
        store.ids = IdFactory(self.rng)
        self.now = store.now()
