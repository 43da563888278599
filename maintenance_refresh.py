"""Maintenance windows follow PagerDuty's clock: `inMaintenance` flips at a
window's start and end without a resync.

Services carry their open windows (`__maintenance_windows`, with unix `start`
and `end`) and the shipped mapping compares them with jq's `now`, so a service
handed to Ocean again at a window's start or end is mapped anew. While always
on, this module keeps on the process timetable (timetable.py, topic
"maintenance", one key per window) of the starts and ends of the open windows last read, and at each
one hands the services that window covers to Ocean again
(`ocean.register_raw`), from what the catalog was last given (raw_memory.py),
with their current on-calls re-read (ceil(policies / 50) requests) since those
are not kept.

PagerDuty sends no webhook for maintenance windows: every `CHECK_SECONDS` the
open windows are listed (one request per 100) and services whose windows
changed (one created, moved or ended early) are patched in memory and handed to
Ocean at once. Every replica does this on its own (writes are idempotent).
"""

import asyncio
import time
from collections.abc import Callable, Iterable

from loguru import logger
from port_ocean.context.event import EventType, event_context
from port_ocean.context.ocean import ocean

from client import JSON, shared_pagerduty_client
from exporters.maintenance import (
    MAINTENANCE_FIELD,
    list_open_windows,
    window_entry,
    window_listeners,
    windows_by_service,
)
from exporters.services import ONCALL_FIELD
from integration import ObjectKind
from raw_memory import RawMemory, hold, is_always_on, process_memory
from timetable import Due, Timetable, process_timetable

MOMENTS = "maintenance"
CHECKS = "maintenance-check"
CHECK_SECONDS = 30.0
SERVICES = ObjectKind.SERVICES


class MaintenanceRefresher:
    def __init__(
        self,
        memory: RawMemory,
        timetable: Timetable,
        period: float = CHECK_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.memory = memory
        self.timetable = timetable
        self.period = period
        self.clock = clock
        self.windows: dict[str, JSON] = {}  # the open windows last read, by id
        self._lock = asyncio.Lock()
        timetable.on(MOMENTS, self.on_moments)
        timetable.on(CHECKS, self.on_check)
        window_listeners.append(self.learn)

    # ------------------------------------------------------------ the clock
    def learn(self, windows: list[JSON]) -> None:
        """The open windows just read: their future starts and ends are due (a
        moment that passed but was not handed out yet, e.g. within the
        timetable's margin, stays due)."""
        now = self.clock()
        self.windows = {str(w["id"]): w for w in windows if w.get("id")}
        pending = self.timetable.moments(MOMENTS)
        for window_id in set(pending) - set(self.windows):
            self.timetable.set_moments(MOMENTS, window_id, [])
        for window_id, window in self.windows.items():
            entry = window_entry(window)
            moments = set() if entry is None else {entry["start"], entry["end"]}
            due = {m for m in moments if m > now} | (
                moments & pending.get(window_id, set())
            )
            self.timetable.set_moments(MOMENTS, window_id, due)

    def schedule_check(self, now: float) -> None:
        self.timetable.set_moments(CHECKS, "all", [now + self.period])

    async def on_moments(self, due: Due) -> None:
        service_ids: set[str] = set()
        for window_ids in due.values():
            for window_id in window_ids:
                window = self.windows.get(window_id) or {}
                service_ids |= {str(s.get("id")) for s in window.get("services") or []}
        await self.write(service_ids, f"window start/end at {min(due):.0f}")

    async def on_check(self, due: Due) -> None:
        self.schedule_check(self.clock())
        if not self.carried():
            return
        try:
            # Listing them tells every window listener, `learn` included.
            await list_open_windows(shared_pagerduty_client())
        except Exception as error:
            logger.warning(
                f"Maintenance windows: reading the open windows failed: {error}"
            )
            return
        await self.write(self.changed(), "maintenance windows changed")

    # ------------------------------------------------------------ the work
    def carried(self) -> dict[str, list[JSON] | None]:
        """The windows each kept service carries (services listed without
        `includeMaintenanceWindows` are left alone)."""
        found: dict[str, list[JSON] | None] = {}
        for key, held in self.memory.of(SERVICES).objects.items():
            body = held.thaw()
            if MAINTENANCE_FIELD in body:
                found[key] = body[MAINTENANCE_FIELD]
        return found

    def current(self) -> dict[str, list[JSON]]:
        return windows_by_service(list(self.windows.values()), now=self.clock())

    def changed(self) -> set[str]:
        current = self.current()
        return {
            key
            for key, carried in self.carried().items()
            if (carried or []) != current.get(key, [])
        }

    async def write(self, service_ids: Iterable[str], reason: str) -> int:
        """Hands these kept services to Ocean again with their current windows
        (and on-calls); returns how many."""
        async with self._lock:
            current = self.current()
            objects, kept = [], self.memory.of(SERVICES).objects
            for key in sorted(set(service_ids)):
                held = kept.get(key)
                if held is None:
                    continue
                obj = held.thaw()
                if MAINTENANCE_FIELD not in obj:
                    continue
                obj[MAINTENANCE_FIELD] = current.get(key, [])
                objects.append((key, held.policy_id, held.fingerprint, obj))
            if not objects:
                return 0
            policies = {pid for _, pid, mark, _ in objects if pid and mark is not None}
            client = shared_pagerduty_client()
            oncalls = (
                await client.oncalls_by_escalation_policy(policies) if policies else {}
            )
            for _, pid, mark, obj in objects:
                if mark is not None:
                    obj[ONCALL_FIELD] = oncalls.get(pid or "", [])
            raw = [obj for *_, obj in objects]
            try:
                async with event_context(
                    EventType.HTTP_REQUEST, trigger_type="machine"
                ):
                    await ocean.register_raw(SERVICES, raw)
            except Exception as error:
                logger.error(f"Maintenance windows: writing to Port failed ({error})")
                return 0
            for key, *_, obj in objects:
                if key in kept:
                    kept[key] = hold(SERVICES, obj).held
            logger.info(f"Maintenance windows ({reason}): {len(raw)} services written")
            return len(raw)


_refresher: MaintenanceRefresher | None = None


def start_maintenance_refresh() -> None:
    """From an Ocean start hook: on the process timetable, always-on only."""
    global _refresher
    if not is_always_on() or _refresher is not None:
        return
    timetable = process_timetable()
    _refresher = MaintenanceRefresher(process_memory(), timetable)
    _refresher.schedule_check(time.time())
    timetable.start()
    logger.info(
        f"Maintenance windows: on (open windows read every {CHECK_SECONDS:.0f} s)"
    )
