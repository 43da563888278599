"""The pure parts of `make bench`: floors, the PSS sampler, JSON lines, snapshot shaping."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.bench import bench_mapping, render
from sandbox.bench_core.floors import RateFloor, ratio
from sandbox.bench_core.jsonl import read_batches, write_jsonl
from sandbox.bench_core.measure import PssSampler, machine, tree_pss_bytes
from sandbox.bench_core.snapshot import read_objects
from sandbox.pagerduty import SimConfig, serve_in_background


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
