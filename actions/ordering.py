"""Runs on one object (an incident, a schedule, an incident key) run one at a
time, in the order Port handed them out, whatever their action.

Ocean queues a run under `<action>:<partition key>`, so it orders runs of one
action on one incident, but an acknowledge and a resolve of the same incident
sit in two queues and may run at once, in either order. So every run takes a
ticket for its object when Ocean asks its partition key (Ocean asks once per
run, in the order it claimed them), and waits for its turn before it acts.

A run whose turn never comes would stall the object: a ticket whose run has not
started (nor been looked at by Ocean's rate-limit check) for `PATIENCE` seconds
is dropped, with a warning, and the next run goes on.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

PATIENCE = 60.0


@dataclass
class Ticket:
    run_id: str
    seen: float
    running: bool = False


@dataclass
class TurnTaking:
    patience: float = PATIENCE
    clock: Callable[[], float] = time.monotonic
    queues: dict[str, list[Ticket]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def take(self, key: str, run_id: str) -> None:
        queue = self.queues.setdefault(key, [])
        if all(ticket.run_id != run_id for ticket in queue):
            queue.append(Ticket(run_id, self.clock()))

    def seen(self, key: str, run_id: str) -> None:
        """Ocean is handling the run (e.g. waiting for the rate budget)."""
        for ticket in self.queues.get(key, []):
            if ticket.run_id == run_id:
                ticket.seen = self.clock()

    def my_turn(self, key: str, run_id: str) -> bool:
        queue = self.queues.get(key, [])
        while queue and queue[0].run_id != run_id:
            head = queue[0]
            if head.running or self.clock() - head.seen < self.patience:
                return all(ticket.run_id != run_id for ticket in queue)
            logger.warning(
                f"Run {head.run_id} on {key} did not start within "
                f"{self.patience:.0f} s; the runs after it go on without it"
            )
            queue.pop(0)
        return True

    async def wait_turn(self, key: str, run_id: str) -> None:
        async with self.changed:
            while not self.my_turn(key, run_id):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout=1.0)
            for ticket in self.queues.get(key, []):
                if ticket.run_id == run_id:
                    ticket.running = True

    async def done(self, key: str, run_id: str) -> None:
        async with self.changed:
            queue = [t for t in self.queues.get(key, []) if t.run_id != run_id]
            if queue:
                self.queues[key] = queue
            else:
                self.queues.pop(key, None)
            self.changed.notify_all()


_turns = TurnTaking()


def turn_taking() -> TurnTaking:
    return _turns
