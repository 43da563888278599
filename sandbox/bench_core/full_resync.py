"""One full resync measured against its floors (`make bench`'s first figure).

Runs the real integration (`ocean sail`, ONCE) against the PagerDuty simulator
with every incident of the two years (`date_range: all`), then the two floors:

- the rate floor: the fewest requests a full resync needs (see `floors`) at the
  rate budget's pace;
- Ocean core's floor: the wall time of `ocean sail sandbox/bench_core`, an
  integration that yields the very same raw objects from JSON-lines files with
  no API calls, against a fresh Port stand-in with the same blueprints and
  mapping; only JQ mapping, diffing and upserts cost time there.

Both runs are timed from process start to exit; peak memory is the largest sum
of PSS over the `ocean sail` process and its descendants (JQ workers), sampled
every 0.2 s.
"""

import copy
import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs in the lock file
import yaml

from sandbox.bench_core.floors import RATE_FLOOR_FORMULA, RateFloor, ratio
from sandbox.bench_core.jsonl import DATA_ENV, write_jsonl
from sandbox.bench_core.measure import PssSampler
from sandbox.bench_core.snapshot import Snapshot, read_snapshot
from sandbox.stack import (
    INTEGRATION_ID,
    ROOT,
    SANDBOX_TOKEN,
    Run,
    Server,
    SimSettings,
    Stack,
    sandbox_stack,
    start_server,
)

RESOURCES = ROOT / ".port" / "resources"
CORE_APP = ROOT / "sandbox" / "bench_core"
BLUEPRINTS = {"services": "pagerdutyService", "incidents": "pagerdutyIncident"}


BENCH_KINDS = ("services", "incidents")


def bench_mapping() -> dict[str, Any]:
    """The shipped default mapping's services and incidents blocks, every incident.

    Only the two kinds the benchmark sizes (and the floors) are about are kept,
    unchanged except for `date_range: all` on incidents and `serviceAnalytics:
    false` (and no dependencies or maintenance windows) on services: the core
    floor must yield the very same objects, and
    `__analytics` (a time-windowed analytics enrichment) is not part of the
    snapshot the core floor replays.
    """
    mapping: dict[str, Any] = yaml.safe_load(
        (RESOURCES / "port-app-config.yaml").read_text()
    )
    mapping = copy.deepcopy(mapping)
    mapping["resources"] = [
        block for block in mapping["resources"] if block["kind"] in BENCH_KINDS
    ]
    for block in mapping["resources"]:
        selector = block["selector"]
        if block["kind"] == "incidents":
            selector.setdefault("apiQueryParams", {})["date_range"] = "all"
            selector["incidentAnalytics"] = False
        if block["kind"] == "services":
            selector["serviceAnalytics"] = False
            # Per-service dependency reads are priced apart (README, "Service graph").
            selector["includeDependencies"] = False
            selector["includeMaintenanceWindows"] = False
    return mapping


def seed_port(port: Server, mapping: dict[str, Any]) -> None:
    """Blueprints and the integration (with the bench mapping) before Ocean starts."""
    blueprints = json.loads((RESOURCES / "blueprints.json").read_text())
    body = {
        "blueprints": blueprints,
        "integrations": [
            {
                "installationId": INTEGRATION_ID,
                "installationAppType": "pagerduty",
                "config": mapping,
                "arePortResourcesInitialized": True,
            }
        ],
    }
    response = httpx.post(f"{port.url}/_standin/seed", json=body, timeout=60)
    response.raise_for_status()


def write_snapshot(snapshot: Snapshot, directory: Path) -> dict[str, int]:
    return {
        "services": write_jsonl(directory / "services.jsonl", snapshot.services),
        "incidents": write_jsonl(directory / "incidents.jsonl", snapshot.incidents),
    }


@dataclass
class Measured:
    run: Run
    peak_pss_mb: float
    peak_breakdown: dict[str, float]
    pss_samples: int
    max_processes: int
    landed: dict[str, dict[str, int]]
    resync_status: str | None
    mismatches: int
    cpu_seconds: float
    port_cpu_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "wall_seconds": round(self.run.seconds, 2),
            "cpu_seconds_ocean_tree": round(self.cpu_seconds, 1),
            "cpu_seconds_port_standin": round(self.port_cpu_seconds, 1),
            "exit_code": self.run.exit_code,
            "peak_pss_mb": round(self.peak_pss_mb, 1),
            "peak_pss_breakdown": self.peak_breakdown,
            "pss_samples": self.pss_samples,
            "max_processes": self.max_processes,
            "landed": self.landed,
            "resync_status": self.resync_status,
            "schema_mismatches": self.mismatches,
        }

    @property
    def complete(self) -> bool:
        return all(c["landed"] == c["expected"] for c in self.landed.values())


def landed_vs_expected(
    port: Server, expected_ids: dict[str, set[str]]
) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for blueprint, expected in expected_ids.items():
        response = httpx.get(f"{port.url}/_standin/entities/{blueprint}", timeout=600)
        response.raise_for_status()
        present = set(response.json())
        result[blueprint] = {
            "landed": len(present & expected),
            "expected": len(expected),
            "unexpected": len(present - expected),
        }
    return result


def measured_run(
    stack: Stack,
    name: str,
    env: dict[str, str],
    expected_ids: dict[str, set[str]],
    timeout: float,
    app_path: Path | None = None,
) -> Measured:
    samplers: list[PssSampler] = []
    log_path = stack.workdir / f"{name}.log"
    children_before = children_cpu_seconds()
    port_before = process_cpu_seconds(stack.port.process.pid)
    run = stack.run_once(
        env,
        timeout=timeout,
        app_path=app_path,
        log_path=log_path,
        on_spawn=lambda process: samplers.append(PssSampler(process.pid).start()),
    )
    cpu = children_cpu_seconds() - children_before
    port_cpu = process_cpu_seconds(stack.port.process.pid) - port_before
    for sampler in samplers:
        sampler.stop()
    sampler = samplers[0]
    if run.exit_code != 0:
        print(
            f"--- {name}: exit code {run.exit_code}, output tail ---", file=sys.stderr
        )
        print(run.output[-4000:], file=sys.stderr)
    return Measured(
        run=run,
        peak_pss_mb=sampler.peak_mb,
        peak_breakdown=sampler.peak_breakdown(),
        pss_samples=sampler.samples,
        max_processes=sampler.max_processes,
        landed=landed_vs_expected(stack.port, expected_ids),
        resync_status=stack.resync_status(),
        mismatches=int(stack.port.get("/_standin/mismatches").get("count", 0)),
        cpu_seconds=cpu,
        port_cpu_seconds=port_cpu,
    )


PROGRESS_MARKERS = ("Resync progress", "Resync of ")


def progress_lines(log: Path) -> list[str]:
    """The resync progress lines (progress.py) of a run's log, as logged."""
    if not log.exists():
        return []
    return [
        line.strip()
        for line in log.read_text(errors="replace").splitlines()
        if any(marker in line for marker in PROGRESS_MARKERS)
    ]


def children_cpu_seconds() -> float:
    """User + system CPU of this process's reaped children (and theirs, once reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run_full(args: Any, services: int, incidents: int) -> dict[str, Any]:
    """The full resync and its floors at this size; `args` as `sandbox.bench` parses them."""
    settings = SimSettings(
        services=services,
        incidents=incidents,
        seed=args.seed,
        teams=args.teams,
        users=args.users,
        rate_limit_per_minute=args.rate_limit_per_minute,
        latency_ms=args.latency_ms,
    )
    env = {"APPLICATION__LOG_LEVEL": args.log_level}
    mapping = bench_mapping()
    started = time.monotonic()
    print(
        f"Starting the sandbox: {services} services, {incidents} incidents",
        flush=True,
    )
    with sandbox_stack(settings) as stack:
        stats = stack.pagerduty.get("/_sim/stats")
        print("Reading the objects from the simulator (untimed) ...", flush=True)
        snapshot = read_snapshot(stack.pagerduty.url, SANDBOX_TOKEN, mapping)
        data_dir = stack.workdir / "core-data"
        written = write_snapshot(snapshot, data_dir)
        expected_ids = {
            BLUEPRINTS["services"]: {str(s["id"]) for s in snapshot.services},
            BLUEPRINTS["incidents"]: {str(i["id"]) for i in snapshot.incidents},
        }
        if (len(snapshot.services), len(snapshot.incidents)) != (
            stats["services"],
            stats["incidents_total"],
        ):
            raise RuntimeError(
                f"snapshot has {written}, the simulator {stats['services']} services "
                f"and {stats['incidents_total']} incidents"
            )

        seed_port(stack.port, mapping)
        print("Timed run 1: the integration (ocean sail, ONCE) ...", flush=True)
        real = measured_run(stack, "integration", env, expected_ids, args.timeout)
        calls = stack.api_calls()
        progress = progress_lines(stack.workdir / "integration.log")
        print(f"  {real.run.seconds:.1f} s, exit code {real.run.exit_code}", flush=True)

        core: Measured | None = None
        if not args.skip_core:
            fresh = start_server("port-core", "sandbox.port", [], stack.workdir)
            try:
                seed_port(fresh, mapping)
                core_stack = Stack(stack.pagerduty, fresh, stack.workdir)
                before = stack.api_calls()["total"]
                print("Timed run 2: the core floor (no API calls) ...", flush=True)
                core = measured_run(
                    core_stack,
                    "core-floor",
                    {**env, DATA_ENV: str(data_dir)},
                    expected_ids,
                    args.timeout,
                    app_path=CORE_APP,
                )
                if stack.api_calls()["total"] != before:
                    raise RuntimeError("the core-floor run called the PagerDuty API")
                print(
                    f"  {core.run.seconds:.1f} s, exit code {core.run.exit_code}",
                    flush=True,
                )
            finally:
                fresh.stop()

    rate = RateFloor(
        services=int(stats["services"]),
        incidents=int(stats["incidents_total"]),
        policies_with_services=snapshot.policies_with_services,
        rate_limit_per_minute=args.rate_limit_per_minute,
    )
    core_seconds = core.run.seconds if core else None
    larger = max(rate.seconds, core_seconds or 0.0)
    floors = {
        "rate_floor_formula": RATE_FLOOR_FORMULA,
        "service_requests": rate.service_requests,
        "incident_requests": rate.incident_requests,
        "oncall_requests": rate.oncall_requests,
        "policies_with_services": rate.policies_with_services,
        "minimal_requests": rate.minimal_requests,
        "requests_per_second": rate.requests_per_second,
        "rate_floor_seconds": round(rate.seconds, 2),
        "core_floor_seconds": round(core_seconds, 2) if core_seconds else None,
        "larger_floor": (
            "core floor" if core_seconds and core_seconds > rate.seconds else "rate"
        ),
        "larger_floor_seconds": round(larger, 2),
        "wall_over_larger_floor": ratio(real.run.seconds, larger),
        "wall_over_rate_floor": ratio(real.run.seconds, rate.seconds),
        "wall_over_core_floor": ratio(real.run.seconds, core_seconds or 0.0),
    }
    ok = (
        real.run.exit_code == 0
        and real.complete
        and (core is None or (core.run.exit_code == 0 and core.complete))
    )
    return {
        "ok": ok,
        "size": {"services": services, "incidents": incidents},
        "progress_lines": progress,
        "simulator": stats,
        "mapping": mapping,
        "snapshot_objects": written,
        "floors": floors,
        "api_calls": calls,
        "requests_over_minimal": ratio(calls["total"], rate.minimal_requests),
        "integration": real.as_dict(),
        "core_floor": core.as_dict() if core else None,
        "bench_seconds": round(time.monotonic() - started, 1),
    }
