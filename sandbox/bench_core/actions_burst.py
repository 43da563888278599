"""The benchmark's actions figure: a burst of `acknowledge_incident` runs.

A small sandbox of its own: open incidents created in the simulator, the
integration always-on with the actions processor (Ocean's defaults: 3 workers),
then 100 runs enqueued in the Port stand-in at once, each on another incident.
PagerDuty is given a tight budget (150 requests per 10 s) so the runs need
several windows: the figure is their total time, from the first enqueue to the
last run's end, against the rate floor (one write per run at that pace), with
every run's outcome and the 429s the simulator answered (there should be none:
the shared rate budget waits instead).
"""

import time
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.bench_core.action_runs import (
    ACTIONS_ENV,
    enqueue,
    wait_for_bound_actions,
    wait_for_runs,
    wait_until,
)
from sandbox.stack import (
    SimSettings,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)

RUNS = 100
LIMIT_PER_WINDOW = 150
WINDOW_SECONDS = 10
FLOOR_FORMULA = (
    "rate floor = runs (one PUT /incidents/{id} each) / (limit / window) s; each "
    "run also reads the incident before (nothing to change?) and after (write-through)"
)


@dataclass(frozen=True)
class BurstFloor:
    runs: int = RUNS
    limit_per_window: int = LIMIT_PER_WINDOW
    window_seconds: float = WINDOW_SECONDS

    @property
    def requests_per_second(self) -> float:
        return self.limit_per_window / self.window_seconds

    @property
    def seconds(self) -> float:
        return self.runs / self.requests_per_second


def run_burst(seed: int = 1, runs: int = RUNS) -> dict[str, Any]:
    floor = BurstFloor(runs=runs)
    settings = SimSettings(services=10, incidents=50, seed=seed)
    with sandbox_stack(settings) as stack:
        created = [
            stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
            for _ in range(runs)
        ]
        incident_ids = [str(answer["incident"]["id"]) for answer in created]
        email = an_email(stack.pagerduty.url)
        process = stack.start_integration("POLLING", ACTIONS_ENV)
        try:
            wait_until(lambda: stack.resync_status() == "completed", 300, "the resync")
            wait_for_bound_actions(stack.workdir / "ocean.log")
            stack.pagerduty.post(
                "/_sim/config",
                {
                    "rate_limit_per_minute": floor.limit_per_window,
                    "rate_window_seconds": floor.window_seconds,
                },
            )
            stack.pagerduty.post("/_sim/counters/reset")
            started = time.monotonic()
            run_ids = [
                enqueue(
                    stack.port.url,
                    "pagerduty_acknowledge_incident",
                    {"incidentId": incident_id, "fromEmail": email},
                )
                for incident_id in incident_ids
            ]
            ended = wait_for_runs(stack.port.url, run_ids, timeout=600)
            seconds = time.monotonic() - started
            calls = stack.api_calls()
        finally:
            stop_process(process)
    succeeded = sum(run.status == "SUCCESS" for run in ended)
    return {
        "runs": runs,
        "succeeded": succeeded,
        "seconds": round(seconds, 2),
        "rate_floor_seconds": round(floor.seconds, 2),
        "wall_over_rate_floor": round(seconds / floor.seconds, 2),
        "pace_of_its_requests_seconds": round(
            calls["total"] / floor.requests_per_second, 2
        ),
        "budget": f"{floor.limit_per_window} requests / {floor.window_seconds:g} s",
        "rate_floor_formula": FLOOR_FORMULA,
        "api_calls": calls["total"],
        "api_calls_by_endpoint": calls["by_endpoint"],
        "status_429": calls["status_429"],
        "failures": [run.log for run in ended if run.status != "SUCCESS"][:5],
    }


def an_email(pagerduty_url: str) -> str:
    """A user of the simulated account: the Port user who runs the actions."""
    users = httpx.get(
        f"{pagerduty_url}/users",
        params={"limit": "1"},
        headers=pagerduty_headers(),
        timeout=30,
    ).json()["users"]
    return str(users[0]["email"])


def render_burst(burst: dict[str, Any]) -> list[str]:
    return [
        "",
        f"  actions: {burst['runs']} acknowledge_incident runs enqueued at once "
        f"(PagerDuty budget {burst['budget']})",
        f"    succeeded {burst['succeeded']}/{burst['runs']}, 429s: "
        f"{burst['status_429']}, total {burst['seconds']:.1f} s; rate floor "
        f"{burst['rate_floor_seconds']:.1f} s; wall / rate floor: "
        f"{burst['wall_over_rate_floor']:.2f}x",
        f"    PagerDuty API calls: {burst['api_calls']} "
        f"{burst['api_calls_by_endpoint']}; at the budget's pace they take "
        f"{burst['pace_of_its_requests_seconds']:.1f} s",
        f"    {burst['rate_floor_formula']}",
    ]
