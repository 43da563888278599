"""The pure parts of `make bench`: floors, the PSS sampler, JSON lines, snapshot
shaping, the storm's plan and checks, the steady state's hour, memory rows."""

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from sandbox.bench import bench_mapping, render
from sandbox.bench_core.floors import RateFloor, ratio
from sandbox.bench_core.jsonl import read_batches, write_jsonl
from sandbox.bench_core.measure import PssSampler, machine, tree_pss_bytes
from sandbox.bench_core.report import memory_row, render_memory
from sandbox.bench_core.snapshot import read_objects
from sandbox.bench_core.steady import Cost, minus_idle, per_hour
from sandbox.bench_core.storm import render_storm, storm_result
from sandbox.bench_core.storm_plan import (
    STATUS_EVENTS,
    base_title,
    percentile,
    plan_storm,
    send_times,
)
from sandbox.pagerduty import SimConfig, serve_in_background
from tests.sandbox.pagerduty.helpers import BASE, make_receiver, sim_client


def test_rate_floor_at_the_benchmark_size() -> None:
    floor = RateFloor(
        services=2000,
        incidents=50_000,
        policies_with_services=667,
        rate_limit_per_minute=960,
    )
    assert (floor.service_requests, floor.incident_requests) == (20, 500)
    assert floor.oncall_requests == 14  # ceil(667 / 50)
    assert floor.minimal_requests == 534
    assert floor.requests_per_second == 16
    assert floor.seconds == pytest.approx(534 / 16)


def test_rate_floor_rounds_up_and_needs_one_request_per_list() -> None:
    floor = RateFloor(
        services=0, incidents=101, policies_with_services=0, rate_limit_per_minute=60
    )
    assert floor.minimal_requests == 1 + 2 + 0
    assert floor.seconds == pytest.approx(3.0)
    unlimited = RateFloor(
        services=5, incidents=5, policies_with_services=1, rate_limit_per_minute=0
    )
    assert unlimited.seconds == 0.0


def test_ratio_guards_against_a_zero_floor() -> None:
    assert ratio(10, 4) == 2.5
    assert ratio(10, 0) is None


def test_jsonl_round_trip_in_batches(tmp_path: Path) -> None:
    objects = [{"id": f"P{i:03d}", "n": i, "name": "Ünïcode"} for i in range(250)]
    path = tmp_path / "sub" / "services.jsonl"
    assert write_jsonl(path, objects) == 250
    batches = list(read_batches(path))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [o for b in batches for o in b] == objects
    assert len(path.read_text(encoding="utf-8").splitlines()) == 250


def test_jsonl_edge_cases(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    assert write_jsonl(empty, []) == 0
    assert list(read_batches(empty)) == []
    exact = tmp_path / "exact.jsonl"
    write_jsonl(exact, [{"i": i} for i in range(6)])
    assert [len(b) for b in read_batches(exact, size=3)] == [3, 3]
    with pytest.raises(ValueError):
        list(read_batches(exact, size=0))


async def test_snapshot_holds_what_the_integration_yields() -> None:
    config = SimConfig(services=30, incidents=300, rate_limit_per_minute=0)
    async with serve_in_background(config) as served:
        snapshot = await read_objects(served.base_url, config.token, bench_mapping())
    store = served.sim.store
    assert len(snapshot.services) == len(store.services)
    assert len(snapshot.incidents) == len(store.incidents), "every incident, all time"
    assert all(s["__oncall_user"] for s in snapshot.services)
    assert all("__analytics" not in s for s in snapshot.services)
    assert snapshot.policies_with_services == len(
        {s["escalation_policy"]["id"] for s in store.services.values()}
    )


def test_bench_mapping_is_the_default_plus_all_incidents() -> None:
    mapping = bench_mapping()
    by_kind = {r["kind"]: r for r in mapping["resources"]}
    assert sorted(by_kind) == ["incidents", "services"]
    assert by_kind["incidents"]["selector"]["apiQueryParams"]["date_range"] == "all"
    assert by_kind["services"]["selector"]["serviceAnalytics"] is False
    assert by_kind["services"]["port"]["entity"]["mappings"]["properties"]["oncall"]


CHILD = """
import os, sys, time
block = bytearray(64 * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
if os.fork() == 0:
    time.sleep(30)
    os._exit(0)
print("ready", flush=True)
time.sleep(30)
"""


def test_pss_sampler_follows_a_process_tree() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        sampler = PssSampler(process.pid, interval=0.05).start()
        time.sleep(0.5)
        current = tree_pss_bytes(process.pid)
        assert current is not None
        # 64 MB touched before the fork: parent and child share it, PSS counts it once.
        assert 60 * 2**20 < current < 200 * 2**20
    finally:
        process.kill()
        process.wait()
    sampler.stop()
    assert sampler.samples >= 3
    assert sampler.max_processes == 2
    assert 60 < sampler.peak_mb < 200
    assert tree_pss_bytes(process.pid) is None


def test_machine_and_render() -> None:
    host = machine()
    assert host["nproc"] >= 1 and host["ram_total_gb"] > 0
    run = {
        "wall_seconds": 40.0,
        "exit_code": 0,
        "peak_pss_mb": 300.0,
        "landed": {"pagerdutyIncident": {"landed": 5, "expected": 5}},
        "resync_status": "completed",
    }
    result = {
        "ok": True,
        "settings": {
            "services": 1,
            "incidents": 5,
            "latency_ms": 30,
            "rate_limit_per_minute": 960,
            "seed": 1,
            "log_level": "WARNING",
        },
        "machine": host,
        "floors": {
            "rate_floor_seconds": 0.19,
            "minimal_requests": 3,
            "requests_per_second": 16,
            "rate_floor_formula": "f",
            "service_requests": 1,
            "incident_requests": 1,
            "oncall_requests": 1,
            "policies_with_services": 1,
            "core_floor_seconds": 20.0,
            "larger_floor_seconds": 20.0,
            "larger_floor": "core floor",
            "wall_over_larger_floor": 2.0,
            "wall_over_rate_floor": 210.5,
            "wall_over_core_floor": 2.0,
        },
        "integration": run,
        "core_floor": {**run, "wall_seconds": 20.0},
        "api_calls": {
            "total": 3,
            "by_endpoint": {"GET /incidents": 1},
            "status_429": 0,
            "status_5xx": 0,
            "by_status": {"200": 3},
        },
        "requests_over_minimal": 1.0,
    }
    text = render(result)
    assert "wall / larger floor: 2.00x" in text
    assert "5/5" in text and "300.0 MB" in text


# ------------------------------------------------------------------ storm plan
def storm_titles(count: int) -> dict[str, str]:
    return {f"P{i:04d}": f"Incident {i}" for i in range(count)}


def test_storm_plan_has_the_asked_deliveries_duplicates_and_final_states() -> None:
    titles = storm_titles(100)
    plan = plan_storm(list(titles), titles, deliveries=500, seed=3)
    assert len(plan.deliveries) == 500
    assert plan.duplicates == 50
    assert 300 <= plan.changes <= 500
    ids = [event.event_id for event in plan.events]
    assert len(ids) == len(set(ids)), "each event has its own id"
    delivered = {event.event_id for event in plan.deliveries}
    assert delivered == set(ids), "every event delivered at least once"
    assert set(plan.final) == set(titles)
    # The final state is what the changes, applied in order, leave.
    for incident_id, final in plan.final.items():
        status, title = "triggered", titles[incident_id]
        for round_ in plan.rounds:
            for event in round_:
                if event.incident_id == incident_id and event.change:
                    status = event.change.get("status", status)
                    title = event.change.get("title", title)
        assert (status, title) == (final.status, final.title)


def test_storm_plan_events_follow_the_status_they_change() -> None:
    titles = storm_titles(50)
    plan = plan_storm(list(titles), titles, deliveries=300, seed=5)
    for event in plan.events:
        if event.change and "status" in event.change:
            assert event.event_type in STATUS_EVENTS.values()
            if event.event_type == "incident.resolved":
                assert event.change["status"] == "resolved"
        if event.change is None:
            assert event.event_type == "incident.annotated"
    orders = [[e.event_id for e in r] for r in plan.rounds]
    assert all(len(set(r)) == len(r) for r in orders)
    first_round_incidents = [e.incident_id for e in plan.rounds[0]]
    assert len(set(first_round_incidents)) == len(first_round_incidents)


def test_storm_plan_refuses_too_few_deliveries() -> None:
    titles = storm_titles(10)
    with pytest.raises(ValueError):
        plan_storm(list(titles), titles, deliveries=10)


def test_send_times_and_percentiles() -> None:
    assert send_times(4, 60) == [0, 15, 30, 45]
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.99) is None
    assert base_title("[SEV2] Disk full (3)") == "Disk full"
    assert base_title("Disk full (3)") == "Disk full (3)"


def test_storm_result_checks_each_target() -> None:
    titles = storm_titles(10)
    plan = plan_storm(list(titles), titles, deliveries=60, seed=1)
    answers = [
        {"seconds": 0.01, "control_seconds": 0.02, "status_code": 200, "returned": 1}
        for _ in plan.deliveries
    ]
    calls = {"total": 12, "by_endpoint": {"GET /incidents/{id}": 12}, "status_429": 0}
    result = storm_result(plan, answers, calls, "", 0.0, 60.0, 3.5, 0)
    assert result["ok"] and result["fetches_per_incident"] == 1.2
    slow = [{**a, "seconds": 0.5} for a in answers]
    late = storm_result(plan, slow, {**calls, "status_429": 1}, "", 0.0, 60.0, None, 4)
    assert not late["ok"]
    assert [name for name, ok in late["checks"].items() if not ok] == [
        "final states within 10 s",
        "ack p99 < 100 ms",
        "no 429s",
    ]
    assert "MISSED" in "\n".join(render_storm(late))


# ------------------------------------------------------------------ steady state
def test_an_hour_is_composed_from_its_measured_parts() -> None:
    idle = Cost(seconds=100, requests=2, cpu_seconds=1.0, by_endpoint={})
    changed = Cost(seconds=50, requests=21, cpu_seconds=5.5, by_endpoint={})
    part = minus_idle(changed, idle, count=10)
    assert part["requests"] == pytest.approx(2.0)  # (21 - 1) / 10
    assert part["cpu_seconds"] == pytest.approx(0.5)  # (5.5 - 0.5) / 10
    parts = {
        "change": part,
        "resync": {"requests": 600, "cpu_seconds": 40.0},
        "incremental": {"requests": 5, "cpu_seconds": 6.0},
    }
    hour = per_hour(parts, idle, resync_minutes=120, incremental_minutes=15)
    # idle 72 + 100 changes x 2 + 0.5 resync x 600 + 4 incremental x 5
    assert hour["requests"] == 72 + 200 + 300 + 20
    assert hour["cpu_seconds"] == pytest.approx(36 + 50 + 20 + 24)
    quiet = per_hour(parts, idle, resync_minutes=None, incremental_minutes=None)
    assert quiet["requests"] == 72 + 200


def test_memory_rows_compare_with_the_floor() -> None:
    full = {
        "size": {"services": 2000, "incidents": 25_000},
        "integration": {"peak_pss_mb": 220.0, "wall_seconds": 120.0},
        "core_floor": {"peak_pss_mb": 200.0, "wall_seconds": 110.0},
        "ok": True,
    }
    row = memory_row(full)
    assert row["over_floor_pct"] == 10.0
    text = "\n".join(render_memory([row]))
    assert "25,000" in text and "10.0 %" in text


async def test_the_deliver_control_backdates_events_and_times_each_answer() -> None:
    receiver, received = make_receiver()
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        body = {
            "type": "webhook_subscription",
            "delivery_method": {"type": "http_delivery_method", "url": "http://r/hook"},
            "events": ["incident.resolved"],
            "filter": {"type": "account_reference"},
        }
        await client.post("/webhook_subscriptions", json={"webhook_subscription": body})
        incident_id = sim.store.incident_order[-1]
        answer = await client.post(
            "/_sim/webhooks/deliver",
            json={
                "event_type": "incident.resolved",
                "resource_id": incident_id,
                "occurred_at": "2026-03-01T11:59:58.250Z",
            },
        )
        (delivery,) = answer.json()["deliveries"]
        assert delivery["status_code"] == 202 and delivery["seconds"] >= 0
        event = json.loads(received[-1][1])["event"]
        assert event["occurred_at"] == "2026-03-01T11:59:58.250Z"
        bad = await client.post(
            "/_sim/webhooks/deliver",
            json={
                "event_type": "incident.resolved",
                "resource_id": incident_id,
                "occurred_at": "yesterday",
            },
        )
        assert bad.status_code == 400
