"""`make bench`, on-call hand-offs: what an always-on hour costs and how stale
the on-calls get, on the large account.

Measured, then extrapolated: the real integration (`ocean sail`, POLLING, no
scheduled resync in the window) runs against the simulator at the benchmark's
size with 2-minute shifts (every schedule hands off at the same instants, so
each hand-off concerns every policy with a schedule: the worst case) and
`oncallRefreshMinutes: 1`, for a window of a few minutes after its first
resync. One override is created through the simulator's control API (no
webhook) during the window.

- Requests per hand-off: the simulator's `GET /oncalls` count from just before
  a shift's end to the integration's log line for it (nothing else runs then:
  checks fall half-way between minutes).
- Requests per check: the same, around one check. The window's totals are
  reported too, less this script's own reads (it reads PagerDuty's current
  on-calls after each hand-off to know what the catalog must show).
- Staleness: from the shift's end (or the override's creation) until the Port
  stand-in shows every service's on-call, every policy's primary on-call and
  exactly the current on-call entities (polled every 0.5 s).

An hour is then hand-offs per hour x requests per hand-off + 60/period checks x
requests per check, for 12-hour shifts (the simulator's default) and, as a
worst case, hourly ones, at the default period (5 minutes). Extrapolated, not
run for an hour, because the request count per moment does not depend on the
shift length, only the number of moments does.
"""

import copy
import math
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import yaml

from sandbox.stack import (
    INTEGRATION_ID,
    ROOT,
    SimSettings,
    Stack,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)

SHIFT_SECONDS = 120
CHECK_MINUTES = 1
DEFAULT_CHECK_MINUTES = 5
LOG = "handoffs.log"
RESOURCES = ROOT / ".port" / "resources"


def mapping() -> dict[str, Any]:
    """The shipped mapping without incidents (they play no part in on-calls)."""
    shipped: dict[str, Any] = yaml.safe_load(
        (RESOURCES / "port-app-config.yaml").read_text()
    )
    shipped = copy.deepcopy(shipped)
    shipped["resources"] = [
        block for block in shipped["resources"] if block["kind"] != "incidents"
    ]
    return shipped


def seed_port(stack: Stack) -> None:
    body = {
        "blueprints": yaml.safe_load((RESOURCES / "blueprints.json").read_text()),
        "integrations": [
            {
                "installationId": INTEGRATION_ID,
                "installationAppType": "pagerduty",
                "config": mapping(),
                "arePortResourcesInitialized": True,
            }
        ],
    }
    httpx.post(f"{stack.port.url}/_standin/seed", json=body, timeout=60)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Watcher:
    """This script's view of PagerDuty (its own requests counted) and Port."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.own_oncall_requests = 0

    def log(self) -> str:
        path = self.stack.workdir / LOG
        return path.read_text(errors="replace") if path.exists() else ""

    def oncall_calls(self) -> int:
        return int(self.stack.api_calls()["by_endpoint"].get("GET /oncalls", 0))

    def current_oncalls(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            self.own_oncall_requests += 1
            body = httpx.get(
                f"{self.stack.pagerduty.url}/oncalls",
                params={"include[]": "users", "limit": 100, "offset": offset},
                headers=pagerduty_headers(),
                timeout=60,
            ).json()
            found += body["oncalls"]
            if not body["more"]:
                return found
            offset += 100

    def entities(self, blueprint: str) -> dict[str, Any]:
        found: dict[str, Any] = self.stack.port.get(f"/_standin/entities/{blueprint}")
        return found

    def shown(self) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
        services = self.entities("pagerdutyService")
        policies = self.entities("pagerdutyEscalationPolicy")
        return (
            {i: e["properties"].get("oncall") for i, e in services.items()},
            {i: e["properties"].get("primaryOncall") for i, e in policies.items()},
            set(self.entities("pagerdutyOncall")),
        )

    def wanted(
        self, oncalls: list[dict[str, Any]]
    ) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
        services = self.entities("pagerdutyService")
        primary = {
            o["escalation_policy"]["id"]: o["user"]["email"]
            for o in sorted(oncalls, key=lambda o: -o["escalation_level"])
        }
        policy_of = {
            i: e["relations"].get("pagerdutyEscalationPolicy")
            for i, e in services.items()
        }
        policies = self.entities("pagerdutyEscalationPolicy")
        return (
            {i: primary.get(p) for i, p in policy_of.items()},
            {i: primary.get(i) for i in policies},
            {identifier(o) for o in oncalls},
        )

    def seconds_until_shown(self, since: float, want: Any, limit: float) -> float:
        while True:
            if self.shown() == want:
                return time.time() - since
            if time.time() - since > limit:
                return math.inf
            time.sleep(0.5)


def identifier(oncall: dict[str, Any]) -> str:
    """The shipped mapping's on-call identifier."""
    return "-".join(
        [
            oncall["escalation_policy"]["id"],
            str(oncall["escalation_level"]),
            (oncall.get("schedule") or {}).get("id") or "direct",
            oncall["user"]["id"],
            oncall.get("start") or "always",
        ]
    )


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def wait_for_log(watcher: Watcher, text: str, limit: float) -> bool:
    deadline = time.time() + limit
    while text not in watcher.log():
        if time.time() > deadline:
            return False
        time.sleep(0.2)
    return True


def measure_handoff(watcher: Watcher, moment: float) -> dict[str, Any]:
    sleep_until(moment - 5)
    before = watcher.oncall_calls()
    logged = wait_for_log(watcher, f"On-call refresh (hand-off at {iso(moment)})", 120)
    spent = watcher.oncall_calls() - before
    want = watcher.wanted(watcher.current_oncalls())
    stale = watcher.seconds_until_shown(moment, want, 120)
    return {"moment": iso(moment), "requests": spent, "logged": logged, "stale": stale}


def measure_override(watcher: Watcher) -> dict[str, Any]:
    """An override of a level-1 schedule, by someone not on call there now."""
    policies = watcher.entities("pagerdutyEscalationPolicy")
    oncalls = watcher.current_oncalls()
    shift = next(o for o in oncalls if o["schedule"] and o["escalation_level"] == 1)
    users = watcher.entities("pagerdutyUser")
    taker = next(u for u in sorted(users) if u != shift["user"]["id"])
    start = time.time()
    watcher.stack.pagerduty.post(
        f"/_sim/schedules/{shift['schedule']['id']}/overrides",
        {
            "start": iso(start),
            "end": iso(start + 600),
            "user": {"id": taker},
        },
    )
    policy_id = shift["escalation_policy"]["id"]
    assert policy_id in policies
    want = watcher.wanted(watcher.current_oncalls())
    stale = watcher.seconds_until_shown(start, want, CHECK_MINUTES * 60 + 120)
    return {"created": iso(start), "stale": stale}


def run_handoff_scenario(
    services: int, window_minutes: float, sim: dict[str, Any]
) -> dict[str, Any]:
    settings = SimSettings(
        services=services,
        incidents=100,
        extra_args=["--shift-minutes", str(SHIFT_SECONDS / 60)],
        **sim,
    )
    print(f"On-call hand-offs: {services} services, 2-minute shifts ...", flush=True)
    with sandbox_stack(settings) as stack:
        stats = stack.pagerduty.get("/_sim/stats")
        seed_port(stack)
        process = stack.start_integration(
            "POLLING",
            {
                "OCEAN__SCHEDULED_RESYNC_INTERVAL": "1440",
                "OCEAN__INTEGRATION__CONFIG__ONCALL_REFRESH_MINUTES": str(
                    CHECK_MINUTES
                ),
                "APPLICATION__LOG_LEVEL": "INFO",
            },
            log_name=LOG,
        )
        watcher = Watcher(stack)
        try:
            if not wait_for_log(watcher, "after listing block", 900) or not (
                wait_for_log(watcher, "(oncalls)", 600)
            ):
                raise RuntimeError("the first resync did not finish")
            while stack.resync_status() != "completed":
                time.sleep(0.5)
            return measure_window(watcher, stats, window_minutes)
        finally:
            stop_process(process)


def next_boundary(after: float) -> float:
    return (math.floor(after / SHIFT_SECONDS) + 1) * SHIFT_SECONDS


def measure_check(watcher: Watcher, slot: float) -> int:
    """Requests of the check due at `slot` (checks fall at :30)."""
    sleep_until(slot - 5)
    done = watcher.log().count("(periodic check)")
    before = watcher.oncall_calls()
    deadline = time.time() + 120
    while watcher.log().count("(periodic check)") == done and time.time() < deadline:
        time.sleep(0.2)
    return watcher.oncall_calls() - before


def measure_window(
    watcher: Watcher, stats: dict[str, Any], window_minutes: float
) -> dict[str, Any]:
    memory = re.findall(r"holding (\{.*?\}) objects \(([\d.]+) MB\)", watcher.log())
    start = time.time()
    calls_before = dict(watcher.stack.api_calls()["by_endpoint"])
    end = start + window_minutes * 60
    handoffs: list[dict[str, Any]] = []
    override: dict[str, Any] | None = None
    per_check: int | None = None
    moment = next_boundary(start + 10)
    while moment + 60 < end:
        handoffs.append(measure_handoff(watcher, moment))
        print(f"  hand-off {handoffs[-1]}", flush=True)
        if per_check is None:
            per_check = measure_check(watcher, moment + 30)
            override = measure_override(watcher)
            print(f"  check: {per_check} requests; override {override}", flush=True)
        moment = next_boundary(time.time() + 10)
    sleep_until(end)
    calls_after = dict(watcher.stack.api_calls()["by_endpoint"])
    others = {
        k: v - calls_before.get(k, 0)
        for k, v in calls_after.items()
        if k != "GET /oncalls" and v != calls_before.get(k, 0)
    }
    oncalls = calls_after.get("GET /oncalls", 0) - calls_before.get("GET /oncalls", 0)
    return summarize(
        stats,
        memory,
        handoffs,
        override,
        per_check,
        {"GET /oncalls (integration)": oncalls - watcher.own_oncall_requests, **others},
        end - start,
    )


def summarize(
    stats: dict[str, Any],
    memory: list[tuple[str, str]],
    handoffs: list[dict[str, Any]],
    override: dict[str, Any] | None,
    per_check: int | None,
    window_calls: dict[str, int],
    window: float,
) -> dict[str, Any]:
    per_handoff = max((h["requests"] for h in handoffs), default=0)
    policies = int(stats["escalation_policies"])
    per_hour = {}
    for label, shift_hours in (("12h shifts", 12.0), ("1h shifts", 1.0)):
        per_hour[label] = round(
            per_handoff / shift_hours + (60 / DEFAULT_CHECK_MINUTES) * (per_check or 0),
            1,
        )
    stale = [h["stale"] for h in handoffs]
    worst = max(stale) if stale else None
    return {
        "window_seconds": round(window, 1),
        "policies": policies,
        "batch_formula": f"ceil({policies} policies / 50) = {math.ceil(policies / 50)}",
        "memory": (
            {"objects": memory[-1][0], "mb": float(memory[-1][1])} if memory else None
        ),
        "handoffs": handoffs,
        "requests_per_handoff": per_handoff,
        "requests_per_check": per_check,
        "pagerduty_requests_in_window": window_calls,
        "worst_handoff_staleness_s": round(worst, 1) if worst is not None else None,
        "override": override,
        "oncall_requests_per_hour_at_default_check": per_hour,
        "worst_unannounced_staleness_at_default_check_s": (
            round(DEFAULT_CHECK_MINUTES * 60 + (worst or 0), 1)
        ),
    }


def render_handoffs(result: dict[str, Any]) -> str:
    override = result.get("override") or {}
    hour = result["oncall_requests_per_hour_at_default_check"]
    memory = result.get("memory") or {}
    return "\n".join(
        [
            "",
            "On-call hand-offs (always-on, 2-minute shifts, oncallRefreshMinutes 1):",
            f"  window: {result['window_seconds']:.0f} s, "
            f"{len(result['handoffs'])} hand-offs measured; "
            f"{result['policies']} policies ({result['batch_formula']})",
            f"  GET /oncalls per hand-off: {result['requests_per_handoff']}   "
            f"per check: {result['requests_per_check']}",
            f"  PagerDuty requests in the window: "
            f"{result['pagerduty_requests_in_window']}",
            f"  staleness: hand-offs worst {result['worst_handoff_staleness_s']} s "
            f"(each: {[round(h['stale'], 1) for h in result['handoffs']]}), "
            f"override (no webhook) {round(override.get('stale', math.nan), 1)} s",
            f"  memory held: {memory.get('mb')} MB for {memory.get('objects')}",
            f"  an always-on hour at the default 5-minute check: {hour['12h shifts']} "
            f"on-call requests with 12 h shifts, {hour['1h shifts']} with hourly ones; "
            "worst staleness: hand-offs as measured, unannounced changes "
            f"{result['worst_unannounced_staleness_at_default_check_s']} s",
        ]
    )


if __name__ == "__main__":
    import json
    import sys

    outcome = run_handoff_scenario(
        int(sys.argv[1]) if len(sys.argv) > 1 else 2000,
        float(sys.argv[2]) if len(sys.argv) > 2 else 6,
        {"latency_ms": 30},
    )
    print(render_handoffs(outcome))
    print(json.dumps(outcome, indent=2, default=str))
