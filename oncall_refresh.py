"""On-call hand-offs: the catalog's on-calls follow PagerDuty's clock.

PagerDuty sends no webhook when a shift ends, an override starts or a schedule
is edited. While always on, the integration keeps a timetable (timetable.py) of
the moments the on-calls it last wrote end, and at each one re-reads the
current on-calls of just the escalation policies concerned (50 per request,
`PagerDutyClient.oncalls_by_escalation_policy`); a light periodic check
(`oncallRefreshMinutes`, default 5, 0 = off) re-reads every catalog policy
once, for changes nobody announces. Either way only the differences are handed
to Ocean (`ocean.register_raw` / `ocean.unregister_raw`), so every resource
block's mapping, selector and filters apply as in a resync (oncall_diff.py).

`apply_now(policy_ids)` does the same at once for the given policies (e.g.
after the `take_oncall` action created an override).

With several replicas and Ocean's Redis live-events stream, one replica per
moment does the work (moment_lock.py).
"""

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from loguru import logger
from port_ocean.context.event import EventType, event_context
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import PortAppConfig

from client import ONCALL_POLICY_BATCH, shared_pagerduty_client
from exporters import exporter_for
from integration import ObjectKind, OncallSelector
from moment_lock import MomentClaims, process_moment_claims
from oncall_diff import Plan, Reading, ShiftBlocks, commit, plan
from pagination import iso
from raw_memory import (
    RawMemory,
    ends_of,
    hold,
    is_always_on,
    is_instant,
    process_memory,
    recordable,
)
from timetable import Due, Timetable, detached, process_timetable

HANDOFFS = "oncall-handoff"
CHECKS = "oncall-check"
DEFAULT_REFRESH_MINUTES = 5
# PagerDuty still showing a shift that ended (clocks apart): read again soon.
EARLY_RETRY_SECONDS = 10.0
EARLY_RETRIES = 3
WRITE_RETRY_SECONDS = 30.0


def iso_of(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


def refresh_minutes() -> int:
    value = ocean.integration_config.get("oncall_refresh_minutes")
    if value is None:
        return DEFAULT_REFRESH_MINUTES
    if int(value) < 0:
        logger.warning(f"oncallRefreshMinutes is {value}; the periodic check is off")
        return 0
    return int(value)


@dataclass
class RefreshReport:
    reason: str
    policies_read: int
    batches: int
    plan: Plan | None = None
    written: bool = False

    def line(self) -> str:
        changes = self.plan.summary() if self.plan else "nothing"
        outcome = "written" if self.written else "not written"
        return (
            f"On-call refresh ({self.reason}): read {self.policies_read} escalation "
            f"policies in {self.batches} batch(es); changes: {changes} ({outcome})"
        )


def shift_blocks(config: PortAppConfig) -> ShiftBlocks | None:
    """The `oncalls` blocks kept current, or None when one of them lists a
    range or other includes (its shifts then change at resyncs only)."""
    blocks = [
        (index, cast(OncallSelector, block.selector))
        for index, block in enumerate(config.resources)
        if block.kind == ObjectKind.ONCALLS
    ]
    for _, selector in blocks:
        include = getattr(selector.api_query_params, "include", None)
        if not is_instant(selector) or include != ["users"]:
            return None
    return ShiftBlocks(blocks)


class OncallRefresher:
    def __init__(
        self,
        memory: RawMemory,
        timetable: Timetable,
        claims: MomentClaims,
        period_minutes: int,
    ) -> None:
        self.memory = memory
        self.timetable = timetable
        self.claims = claims
        self.period = period_minutes * 60.0
        self._lock = asyncio.Lock()
        self._early: dict[str, int] = {}
        memory.listeners.append(self.reschedule)
        timetable.on(HANDOFFS, self.on_handoffs)
        timetable.on(CHECKS, self.on_check)

    # ------------------------------------------------------------ the clock
    def reschedule(self, ends: dict[str, set[float]]) -> None:
        for policy_id, moments in ends.items():
            self.timetable.set_moments(HANDOFFS, policy_id, moments)

    def schedule_check(self, now: float) -> None:
        """Checks fall half-way between round multiples of the period, away
        from the round hours shifts usually end at."""
        if self.period <= 0:
            return
        slot = math.floor(now / self.period - 0.5) + 1
        self.timetable.set_moments(CHECKS, "all", [(slot + 0.5) * self.period])

    async def on_handoffs(self, due: Due) -> None:
        claimed: set[str] = set()
        for when, policy_ids in sorted(due.items()):
            if await self.claims.claim(f"handoff:{int(when)}"):
                claimed |= policy_ids
            else:
                logger.info(f"On-call hand-off at {iso_of(when)}: another replica")
        if claimed:
            await self.refresh(claimed, f"hand-off at {iso_of(min(due))}")

    async def on_check(self, due: Due) -> None:
        when = max(due)
        self.schedule_check(when + 1)
        if not await self.claims.claim(f"check:{int(when)}"):
            return
        await self.refresh(self.memory.policies(), "periodic check")

    # ------------------------------------------------------------ the work
    async def refresh(self, policy_ids: Iterable[str], reason: str) -> RefreshReport:
        """Read the current on-calls of these catalog policies; write what changed."""
        return await detached(self._refresh(set(policy_ids), reason))

    async def _refresh(self, policy_ids: set[str], reason: str) -> RefreshReport:
        async with self._lock:
            wanted = sorted(policy_ids & self.memory.policies())
            report = RefreshReport(
                reason, len(wanted), math.ceil(len(wanted) / ONCALL_POLICY_BATCH)
            )
            if not wanted:
                return report
            client = shared_pagerduty_client()
            reading = await client.oncalls_by_escalation_policy(wanted)
            self.next_moments(reading)
            async with event_context(EventType.HTTP_REQUEST, trigger_type="machine"):
                config = (
                    await ocean.integration.port_app_config_handler.get_port_app_config()
                )
                report.plan = plan(self.memory, reading, shift_blocks(config))
                report.written = await self.write(report.plan, reading)
            logger.info(report.line())
            return report

    def next_moments(self, reading: Reading) -> None:
        now = time.time()
        for policy_id, oncalls in reading.items():
            ends = ends_of(oncalls)
            early = {end for end in ends if end <= now}
            if not early:
                self._early.pop(policy_id, None)
            elif self._early.get(policy_id, 0) < EARLY_RETRIES:
                self._early[policy_id] = self._early.get(policy_id, 0) + 1
                ends = ends - early | {now + EARLY_RETRY_SECONDS}
            else:
                logger.warning(
                    f"PagerDuty still lists on-calls of escalation policy {policy_id} "
                    f"that ended ({', '.join(iso_of(e) for e in sorted(early))}); "
                    "the periodic check or the next resync will correct them"
                )
                ends = ends - early
            self.timetable.set_moments(HANDOFFS, policy_id, ends)

    async def write(self, changes: Plan, reading: Reading) -> bool:
        if changes.is_empty():
            return True
        try:
            if changes.services:
                await ocean.register_raw(ObjectKind.SERVICES, changes.services)
            if changes.policies:
                await ocean.register_raw(
                    ObjectKind.ESCALATION_POLICIES, changes.policies
                )
            if changes.shifts_in:
                await ocean.register_raw(ObjectKind.ONCALLS, changes.shifts_in)
            if changes.shifts_out:
                await ocean.unregister_raw(ObjectKind.ONCALLS, changes.shifts_out)
        except Exception as error:
            logger.error(f"On-call refresh: writing to Port failed ({error}); retrying")
            for policy_id in reading:
                retry = time.time() + WRITE_RETRY_SECONDS
                self.timetable.add_moment(HANDOFFS, policy_id, retry)
            return False
        commit(self.memory, changes)
        return True


_refresher: OncallRefresher | None = None
_background: set[asyncio.Task[None]] = set()


async def apply_now(policy_ids: Iterable[str]) -> RefreshReport | None:
    """Re-read the current on-calls of these escalation policies now and write
    what changed (services, policies, on-call entities), e.g. right after an
    override. Policies the catalog does not show cost no request; in a process
    that keeps no catalog state (ONCE, actions-only) this returns None."""
    if _refresher is None:
        return None
    return await _refresher.refresh(policy_ids, "applied now")


def start_oncall_refresh() -> None:
    """From an Ocean start hook: the process timetable's clock, always-on only."""
    global _refresher
    if not is_always_on() or _refresher is not None:
        return
    timetable, minutes = process_timetable(), refresh_minutes()
    _refresher = OncallRefresher(
        process_memory(), timetable, process_moment_claims(), minutes
    )
    _refresher.schedule_check(time.time())
    if not ocean.config.event_listener.should_resync:
        task = detached(remember_without_resync())
        _background.add(task)
        task.add_done_callback(_background.discard)
    timetable.start()
    logger.info(f"On-call hand-offs: on (periodic check every {minutes} min, 0 = off)")


async def remember_without_resync() -> None:
    """A listener that never resyncs (webhook-only) reads, once at start, what a
    resync of the blocks concerned would list, and writes nothing."""
    memory, client = process_memory(), shared_pagerduty_client()
    try:
        async with event_context(EventType.HTTP_REQUEST, trigger_type="machine"):
            handler = ocean.integration.port_app_config_handler
            config = await handler.get_port_app_config()
            for index, block in enumerate(config.resources):
                if not recordable(block.kind, block):
                    continue
                kept = []
                pages = exporter_for(block.kind, client).pages(block.selector)
                async for batch in pages:
                    kept += [hold(block.kind, obj) for obj in batch]
                memory.record_block(block.kind, index, kept)
    except Exception as error:
        logger.error(
            f"On-call hand-offs: reading the catalog's objects failed: {error}"
        )
