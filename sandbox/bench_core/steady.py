"""The benchmark's steady state: what an always-on installation costs per hour.

Ocean (0.56, read in its source): an always-on pod's scheduled resync
(`OCEAN__SCHEDULED_RESYNC_INTERVAL`, minutes) is always a full `sync_raw_all`
of every block; `OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED` changes nothing
in that pod (it only registers the incremental handler): incremental sync runs
only as a separate `ONCE` process (`sync_incremental`, a CronJob every
`_INTERVAL` minutes). So an hour of a live installation is the sum of

    idle (webhook listener, Port polling, on-call checks) for 3,600 s
  + per change (a status/title change and its signed delivery) x changes/h
  + per scheduled resync (full, the default mapping) x 60 / interval
  + per incremental ONCE run x 60 / its interval.

Each part is measured once, one after the other, against the large sandbox
account with the shipped default mapping (a real `ocean sail`, POLLING, its
managed webhook subscription) after its first sync: an idle stretch, a
stretch of changes at many times the hourly rate, one resync requested the
way a scheduled one runs (`sync_raw_all`, through a Port resync request), and
one incremental `ONCE` run covering those changes. Idle costs are taken off
the other parts (idle rate x their duration); the hour is then composed for a
few configurations. PagerDuty requests are the simulator's counters; CPU is
user + system seconds of the `ocean sail` process tree (JQ workers included).
"""

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.bench_core.action_runs import wait_until
from sandbox.bench_core.measure import tree_cpu_seconds
from sandbox.bench_core.storm import iso_ms, wait_live
from sandbox.stack import (
    INTEGRATION_ID,
    SimSettings,
    Stack,
    free_port,
    sandbox_stack,
    stop_process,
)

CHANGES_PER_HOUR = 100
INCREMENTAL = {
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED": "true",
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL": "15",
}
# (scheduled resync minutes or None, incremental minutes or None)
CONFIGURATIONS: dict[str, tuple[int | None, int | None]] = {
    "helm example: resync every 120 min, incremental every 15 min": (120, 15),
    "resync every 60 min, no incremental": (60, None),
    "recommended: resync daily (1440 min), incremental every 60 min": (1440, 60),
    "webhooks only (no scheduled resync, no incremental)": (None, None),
}


@dataclass
class Cost:
    seconds: float
    requests: int
    cpu_seconds: float
    by_endpoint: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "requests": self.requests,
            "cpu_seconds": round(self.cpu_seconds, 2),
            "by_endpoint": self.by_endpoint,
        }


class Meter:
    """Requests and CPU of the always-on tree (and reaped children) over a stretch."""

    def __init__(self, stack: Stack, pid: int) -> None:
        self.stack = stack
        self.pid = pid

    def measure(self, work: Callable[[], float]) -> Cost:
        """`work` runs and returns the CPU seconds of anything it ran on its own."""
        self.stack.pagerduty.post("/_sim/counters/reset")
        cpu_before = tree_cpu_seconds(self.pid)
        started = time.monotonic()
        extra_cpu = work()
        seconds = time.monotonic() - started
        calls = self.stack.api_calls()
        return Cost(
            seconds,
            int(calls["total"]),
            tree_cpu_seconds(self.pid) - cpu_before + extra_cpu,
            dict(calls["by_endpoint"]),
        )


def minus_idle(cost: Cost, idle: Cost, count: int = 1) -> dict[str, Any]:
    """Per unit of `cost` (count units), the idle rate over its duration taken off."""
    share = cost.seconds / idle.seconds if idle.seconds else 0.0
    return {
        "requests": max(0.0, (cost.requests - idle.requests * share) / count),
        "cpu_seconds": max(0.0, (cost.cpu_seconds - idle.cpu_seconds * share) / count),
        "measured": cost.as_dict(),
        "count": count,
    }


def per_hour(
    parts: dict[str, dict[str, Any]],
    idle: Cost,
    resync_minutes: int | None,
    incremental_minutes: int | None,
    changes_per_hour: int = CHANGES_PER_HOUR,
) -> dict[str, float]:
    """The hour composed from its parts (see the module's docstring)."""
    counts = {
        "change": changes_per_hour,
        "resync": 60 / resync_minutes if resync_minutes else 0.0,
        "incremental": 60 / incremental_minutes if incremental_minutes else 0.0,
    }
    idle_share = 3600 / idle.seconds
    requests = idle.requests * idle_share
    cpu = idle.cpu_seconds * idle_share
    for name, count in counts.items():
        requests += parts[name]["requests"] * count
        cpu += parts[name]["cpu_seconds"] * count
    return {"requests": round(requests), "cpu_seconds": round(cpu, 1)}


# ------------------------------------------------------------------ the run
def start_always_on(stack: Stack, log_level: str) -> Any:
    app_port = free_port()
    env = {
        "APPLICATION__PORT": str(app_port),
        "APPLICATION__LOG_LEVEL": log_level,
        "OCEAN__INTEGRATION__CONFIG__APP_HOST": f"http://127.0.0.1:{app_port}",
        "OCEAN__SCHEDULED_RESYNC_INTERVAL": "1440",
        **INCREMENTAL,
    }
    process = stack.start_integration("POLLING", env, log_name="steady.log")
    try:
        wait_live(stack)
    except BaseException:
        stop_process(process)
        raise
    return process


def make_changes(stack: Stack, count: int, seconds: float) -> list[tuple[str, str]]:
    """`count` incidents changed (open ones acknowledged or resolved) and
    delivered, evenly over `seconds`; returns (id, new status)."""
    entities = httpx.get(
        f"{stack.port.url}/_standin/entities/pagerdutyIncident", timeout=120
    ).json()
    open_ids = sorted(
        i for i, e in entities.items() if e["properties"].get("status") != "resolved"
    )
    chosen = open_ids[:count]
    done = []
    started = time.monotonic()
    for number, incident_id in enumerate(chosen):
        delay = started + number * seconds / max(1, count) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        status = "resolved" if number % 2 else "acknowledged"
        stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"status": status})
        stack.pagerduty.post(
            "/_sim/webhooks/deliver",
            {
                "event_type": f"incident.{status}",
                "resource_id": incident_id,
                "occurred_at": iso_ms(time.time()),
            },
        )
        done.append((incident_id, status))
    return done


def all_in_port(stack: Stack, changes: list[tuple[str, str]]) -> bool:
    entities = httpx.get(
        f"{stack.port.url}/_standin/entities/pagerdutyIncident", timeout=120
    ).json()
    return all(
        (entities.get(i) or {}).get("properties", {}).get("status") == status
        for i, status in changes
    )


def request_resync(stack: Stack) -> None:
    """What a scheduled resync runs (`sync_raw_all`), asked for through Port."""
    before = stack.port.get(f"/_standin/integration/{INTEGRATION_ID}")
    started_at = (before.get("resyncState") or {}).get("updatedAt")
    stack.port.post(f"/_standin/integration/{INTEGRATION_ID}/resync-request")

    def finished() -> bool:
        state = (
            stack.port.get(f"/_standin/integration/{INTEGRATION_ID}").get("resyncState")
            or {}
        )
        return state.get("status") == "completed" and state.get("updatedAt") not in (
            None,
            started_at,
        )

    wait_until(finished, 1800, "the requested resync", every=1)


def run_steady(
    services: int = 2000,
    incidents: int = 50_000,
    seed: int = 1,
    latency_ms: int = 30,
    rate_limit_per_minute: int = 960,
    idle_seconds: float = 300,
    changes: int = 30,
    change_seconds: float = 90,
    log_level: str = "INFO",
) -> dict[str, Any]:
    settings = SimSettings(
        services=services,
        incidents=incidents,
        seed=seed,
        latency_ms=latency_ms,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    with sandbox_stack(settings) as stack:
        started = time.monotonic()
        process = start_always_on(stack, log_level)
        first_sync_seconds = time.monotonic() - started
        try:
            parts, idle = measure_parts(
                stack, process.pid, changes, change_seconds, idle_seconds
            )
        finally:
            stop_process(process)
    hours = {
        name: per_hour(parts, idle, resync, incremental)
        for name, (resync, incremental) in CONFIGURATIONS.items()
    }
    return {
        "account": {"services": services, "incidents": incidents},
        "log_level": log_level,
        "first_sync_seconds": round(first_sync_seconds, 1),
        "idle": idle.as_dict(),
        "parts": parts,
        "changes_per_hour": CHANGES_PER_HOUR,
        "per_hour": hours,
    }


def measure_parts(
    stack: Stack, pid: int, changes: int, change_seconds: float, idle_seconds: float
) -> tuple[dict[str, dict[str, Any]], Cost]:
    meter = Meter(stack, pid)
    idle = meter.measure(lambda: sleep_for(idle_seconds))
    made: list[tuple[str, str]] = []

    def change_stretch() -> float:
        made.extend(make_changes(stack, changes, change_seconds))
        wait_until(lambda: all_in_port(stack, made), 120, "the changes in Port")
        return 0.0

    changed = meter.measure(change_stretch)

    def resync() -> float:
        request_resync(stack)
        return 0.0

    resynced = meter.measure(resync)

    def incremental() -> float:
        before = children_cpu_seconds()
        run = stack.run_once(
            INCREMENTAL, timeout=900, log_path=stack.workdir / "incr.log"
        )
        if run.exit_code != 0:
            raise RuntimeError(f"incremental run failed:\n{run.output[-3000:]}")
        return children_cpu_seconds() - before

    incremented = meter.measure(incremental)
    parts = {
        "change": minus_idle(changed, idle, max(1, len(made))),
        "resync": minus_idle(resynced, idle),
        "incremental": minus_idle(incremented, idle),
    }
    return parts, idle


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return 0.0


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def render_steady(steady: dict[str, Any]) -> list[str]:
    parts, idle = steady["parts"], steady["idle"]
    account = steady["account"]
    lines = [
        "",
        f"  steady state: always-on, default mapping, {account['services']} services, "
        f"{account['incidents']} incidents, {steady['changes_per_hour']} incident "
        f"changes per hour (log level {steady['log_level']})",
        f"    measured: idle {idle['seconds']:.0f} s = {idle['requests']} requests, "
        f"{idle['cpu_seconds']:.1f} CPU s; per change "
        f"{parts['change']['requests']:.1f} requests, "
        f"{parts['change']['cpu_seconds']:.2f} CPU s ({parts['change']['count']} made); "
        f"per full resync {parts['resync']['requests']:.0f} requests, "
        f"{parts['resync']['cpu_seconds']:.0f} CPU s "
        f"({parts['resync']['measured']['seconds']:.0f} s); per incremental ONCE run "
        f"{parts['incremental']['requests']:.0f} requests, "
        f"{parts['incremental']['cpu_seconds']:.1f} CPU s",
        "    per hour (idle x 3600 s + changes + resyncs + incremental runs):",
    ]
    for name, hour in steady["per_hour"].items():
        lines.append(
            f"      {name:66}{hour['requests']:>7} requests {hour['cpu_seconds']:>8.1f} CPU s"
        )
    return lines
