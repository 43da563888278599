"""Deliveries noted as they arrive, so that one fetch round serves those still
waiting in Ocean's queue.

Ocean hands deliveries to its event workers one at a time (one worker by
default), so during an incident storm a delivery waits behind every one queued
before it, and each fetch of an incident would wait its turn. Instead, every
signed delivery is noted here when it arrives (`intake_middleware.py`). When a
worker must fetch an incident, it also fetches up to ROUND_LIMIT other incidents
whose deliveries are queued, a few at a time within the shared rate budget, and
hands all of them to Ocean at once (one mapping, one upsert). Each of those
queued deliveries is then *covered*: the fetch started after it arrived, so it
read a state at least as new as its event, and it changes nothing itself when
its turn comes.

A delivery is covered per read variant (blocks reading incidents differently
need their own read). Its note is dropped when its own turn comes. Only for the
local queue: with Ocean's Redis live-events stream another replica may process
the delivery, so nothing is noted.
"""

from collections import OrderedDict
from collections.abc import Hashable

ROUND_LIMIT = 25  # other incidents one fetch round takes along
ROUND_CONCURRENCY = 8  # of a round's reads at once (the rate budget paces them)
MAX_NOTED = 20_000  # per kind; the oldest are dropped first
MAX_COVERED = 100_000  # per read variant


class Intake:
    def __init__(
        self, max_noted: int = MAX_NOTED, max_covered: int = MAX_COVERED
    ) -> None:
        self.max_noted = max_noted
        self.max_covered = max_covered
        # kind -> object id -> ids of its events still waiting, oldest first
        self._waiting: dict[str, OrderedDict[str, set[str]]] = {}
        self._covered: dict[Hashable, OrderedDict[str, None]] = {}

    def note(self, kind: str, object_id: str, event_id: str) -> None:
        waiting = self._waiting.setdefault(kind, OrderedDict())
        waiting.setdefault(object_id, set()).add(event_id)
        while len(waiting) > self.max_noted:
            waiting.popitem(last=False)

    def turn_of(self, kind: str, object_id: str, event_id: str) -> None:
        """The delivery's own processing has begun: nothing need take it along."""
        waiting = self._waiting.get(kind, OrderedDict())
        events = waiting.get(object_id)
        if events is None:
            return
        events.discard(event_id)
        if not events:
            del waiting[object_id]

    def take_along(
        self, kind: str, variant: Hashable, besides: str, limit: int = ROUND_LIMIT
    ) -> dict[str, set[str]]:
        """Up to `limit` other objects with waiting deliveries not yet covered for
        this variant, oldest first, with those deliveries' event ids."""
        covered = self._covered.get(variant, OrderedDict())
        taken: dict[str, set[str]] = {}
        for object_id, events in self._waiting.get(kind, OrderedDict()).items():
            if len(taken) >= limit:
                break
            uncovered = {e for e in events if e not in covered}
            if object_id != besides and uncovered:
                taken[object_id] = uncovered
        return taken

    def cover(self, variant: Hashable, event_ids: set[str]) -> None:
        covered = self._covered.setdefault(variant, OrderedDict())
        for event_id in event_ids:
            covered[event_id] = None
        while len(covered) > self.max_covered:
            covered.popitem(last=False)

    def is_covered(self, variant: Hashable, event_id: str) -> bool:
        return event_id in self._covered.get(variant, ())


_intake = Intake()


def process_intake() -> Intake:
    return _intake
