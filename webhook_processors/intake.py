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
from dataclasses import dataclass

ROUND_LIMIT = 25  # other incidents one fetch round takes along
ROUND_CONCURRENCY = 8  # of a round's reads at once (the rate budget paces them)
MAX_NOTED = 20_000  # per kind; the oldest are dropped first
MAX_COVERED = 100_000  # per read variant


@dataclass(frozen=True)
class Noted:
    arrived: float  # this process's clock
    occurred_at: float | None  # PagerDuty's `occurred_at`, epoch seconds


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
        # kind -> object id -> its waiting deliveries (event id -> Noted), oldest first
        self._waiting: dict[str, OrderedDict[str, dict[str, Noted]]] = {}
        self._covered: dict[Hashable, OrderedDict[str, None]] = {}
        self._in_round: set[tuple[Hashable, str]] = set()
        self._ever_noted: OrderedDict[str, None] = OrderedDict()

    def note(
        self, kind: str, object_id: str, event_id: str, occurred_at: float | None
    ) -> None:
        if event_id in self._ever_noted:
            return  # a duplicate delivery: the first one has or had its turn
        self._ever_noted[event_id] = None
        while len(self._ever_noted) > self.max_covered:
            self._ever_noted.popitem(last=False)
        waiting = self._waiting.setdefault(kind, OrderedDict())
        events = waiting.setdefault(object_id, {})
        events.setdefault(event_id, Noted(self.clock(), occurred_at))
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
    ) -> dict[str, float | None]:
        """Up to `limit` other objects with waiting deliveries not yet covered for
        this variant and not in another round, oldest first, each with the
        newest `occurred_at` of those deliveries (None if one has none). They
        are in this round until `done` is called for them."""
        covered = self._covered.get(variant, OrderedDict())
        taken: dict[str, float | None] = {}
        for object_id, events in self._waiting.get(kind, OrderedDict()).items():
            if len(taken) >= limit:
                break
            if object_id == besides or (variant, object_id) in self._in_round:
                continue
            uncovered = [n for e, n in events.items() if e not in covered]
            if uncovered:
                taken[object_id] = newest_occurrence(uncovered)
                self._in_round.add((variant, object_id))
        return taken

    def done(self, variant: Hashable, object_id: str) -> None:
        self._in_round.discard((variant, object_id))

    def cover(
        self,
        kind: str,
        object_id: str,
        variant: Hashable,
        arrived_before: float = float("inf"),
    ) -> None:
        """A fetch of the object that started after `arrived_before` (this clock)
        read what every delivery that arrived before it announced (with the
        default, a fetch newer than every waiting delivery's event)."""
        events = self._waiting.get(kind, OrderedDict()).get(object_id, {})
        covered = self._covered.setdefault(variant, OrderedDict())
        for event_id, noted in events.items():
            if noted.arrived < arrived_before:
                covered[event_id] = None
        while len(covered) > self.max_covered:
            covered.popitem(last=False)

    def is_covered(self, variant: Hashable, event_id: str) -> bool:
        return event_id in self._covered.get(variant, ())


def newest_occurrence(noted: list[Noted]) -> float | None:
    moments = [n.occurred_at for n in noted]
    if any(moment is None for moment in moments):
        return None
    return max(moment for moment in moments if moment is not None)


_intake = Intake()


def process_intake() -> Intake:
    return _intake
