"""Deliveries noted as they arrive, so that one fetch round serves those still
waiting in Ocean's queue.

Ocean hands deliveries to its event workers one at a time (one worker by
default), so during an incident storm a delivery waits behind every one queued
before it, and each fetch of an incident would wait its turn. Instead, every
signed delivery is noted here when it arrives (`intake_middleware.py`). When a
worker must fetch an incident, it also fetches up to ROUND_LIMIT other incidents
whose deliveries are queued, a few at a time within the shared rate budget, and
hands all of them to Ocean at once (one upsert). Every delivery of an incident
that arrived before a fetch of it started is then *covered*: that fetch read a
state at least as new as its event, so it changes nothing itself when its turn
comes (arrival is on this process's clock, so no clock skew is involved).

A delivery is covered per read variant (blocks reading incidents differently
need their own read). Its note is dropped when its own turn comes. Only for the
local queue: with Ocean's Redis live-events stream another replica may process
the delivery, so nothing is noted.
"""

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

ROUND_LIMIT = 25  # other incidents one fetch round takes along
ROUND_CONCURRENCY = 8  # of a round's reads at once (the rate budget paces them)
MAX_NOTED = 20_000  # per kind; the oldest are dropped first
MAX_COVERED = 100_000  # per read variant


class Intake:
    def __init__(
        self,
        max_noted: int = MAX_NOTED,
        max_covered: int = MAX_COVERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_noted = max_noted
        self.max_covered = max_covered
        self.clock = clock
        # kind -> object id -> its waiting deliveries' event ids -> arrival time
        self._waiting: dict[str, OrderedDict[str, dict[str, float]]] = {}
        self._covered: dict[Hashable, OrderedDict[str, None]] = {}

    def note(self, kind: str, object_id: str, event_id: str) -> None:
        waiting = self._waiting.setdefault(kind, OrderedDict())
        waiting.setdefault(object_id, {}).setdefault(event_id, self.clock())
        while len(waiting) > self.max_noted:
            waiting.popitem(last=False)

    def turn_of(self, kind: str, object_id: str, event_id: str) -> None:
        """The delivery's own processing has begun: nothing need take it along."""
        waiting = self._waiting.get(kind, OrderedDict())
        events = waiting.get(object_id)
        if events is None:
            return
        events.pop(event_id, None)
        if not events:
            del waiting[object_id]

    def take_along(
        self, kind: str, variant: Hashable, besides: str, limit: int = ROUND_LIMIT
    ) -> list[str]:
        """Up to `limit` other objects with waiting deliveries not yet covered for
        this variant, oldest first."""
        covered = self._covered.get(variant, OrderedDict())
        taken: list[str] = []
        for object_id, events in self._waiting.get(kind, OrderedDict()).items():
            if len(taken) >= limit:
                break
            if object_id != besides and any(e not in covered for e in events):
                taken.append(object_id)
        return taken

    def cover_arrived_before(
        self, kind: str, object_id: str, variant: Hashable, moment: float
    ) -> None:
        """A fetch of the object that started after `moment` (this clock) read
        what every delivery that arrived before it announced."""
        events = self._waiting.get(kind, OrderedDict()).get(object_id, {})
        covered = self._covered.setdefault(variant, OrderedDict())
        for event_id, arrived in events.items():
            if arrived < moment:
                covered[event_id] = None
        while len(covered) > self.max_covered:
            covered.popitem(last=False)

    def is_covered(self, variant: Hashable, event_id: str) -> bool:
        return event_id in self._covered.get(variant, ())


_intake = Intake()


def process_intake() -> Intake:
    return _intake
