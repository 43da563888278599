"""The benchmark's incident storm: thousands of signed deliveries at a live integration.

A sandbox of its own: a small account plus `incidents` open incidents, and a
real always-on `ocean sail` (POLLING) that manages its webhook subscription
(`appHost`), with the shipped default mapping. Once its first resync is done:

1. the PagerDuty state changes of `storm_plan` are applied through the
   simulator's control API (`POST /_sim/incidents/{id}`), each incident's in
   order; the moment each was applied becomes its event's `occurred_at`;
2. the request counters are zeroed and the deliveries go out through
   `POST /_sim/webhooks/deliver` (signed with the subscription's secret by the
   simulator, as PagerDuty does), shuffled, evenly spread over `seconds`, each
   sent at its time whether or not the previous ones were answered.

Measured: each delivery's acknowledgement time as the simulator sees it (from
sending the request to the integration's answer, connection included), every
incident's final state (status and title) in the Port stand-in and how long
after the last delivery it got there, the `GET /incidents/{id}` fetches against
the distinct incidents, and the 429s.
"""

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from sandbox.bench_core.action_runs import wait_until
from sandbox.bench_core.measure import tree_cpu_seconds
from sandbox.bench_core.storm_plan import (
    Event,
    StormPlan,
    percentile,
    plan_storm,
    send_times,
)
from sandbox.stack import SimSettings, Stack, free_port, sandbox_stack, stop_process

INCIDENTS = 1000
DELIVERIES = 5000
SECONDS = 60.0
SETTLE_LIMIT = 10.0  # final states in Port within this long after the last delivery
FETCH_LIMIT = 1.2  # GET /incidents/{id} per distinct incident
ACK_P99_LIMIT_MS = 100.0
WAIT_AFTER = 180.0  # how long to keep looking after the last delivery
FETCH_ENDPOINT = "GET /incidents/{id}"
BLUEPRINT = "pagerdutyIncident"
CHANGE_CONCURRENCY = 8


def iso_ms(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")[:-6]
        + "Z"
    )


def open_incidents(stack: Stack, count: int) -> dict[str, str]:
    """`count` new triggered incidents; their titles by id."""
    titles = {}
    with httpx.Client(base_url=stack.pagerduty.url, timeout=30) as control:
        for number in range(count):
            body = {"status": "triggered", "title": f"Storm incident {number}"}
            incident = control.post("/_sim/incidents", json=body).json()["incident"]
            titles[str(incident["id"])] = str(incident["title"])
    return titles


def start_live(stack: Stack, overrides: dict[str, str]) -> Any:
    """An always-on integration with a managed subscription, once its first
    resync and its webhook self-test are done."""
    app_port = free_port()
    env = {
        "APPLICATION__PORT": str(app_port),
        "OCEAN__INTEGRATION__CONFIG__APP_HOST": f"http://127.0.0.1:{app_port}",
        **overrides,
    }
    process = stack.start_integration("POLLING", env, log_name="storm.log")
    try:
        wait_live(stack)
    except BaseException:
        stop_process(process)
        raise
    return process


def wait_live(stack: Stack, timeout: float = 1800) -> None:
    """Until the subscription exists and the first resync has completed (any
    log level: the self-test line is INFO)."""
    wait_until(
        lambda: bool(stack.pagerduty.get("/_sim/stats")["webhook_subscriptions"])
        and stack.resync_status() == "completed",
        timeout,
        "the webhook subscription and the first resync",
        every=1,
    )


async def apply_changes(url: str, plan: StormPlan) -> float:
    """Each round's changes at up to CHANGE_CONCURRENCY at once, rounds in order
    (so each incident's changes land in order); returns the seconds taken."""
    started = time.monotonic()
    gate = asyncio.Semaphore(CHANGE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=60) as control:

        async def apply(event: Event) -> None:
            async with gate:
                if event.change is not None:
                    answer = await control.post(
                        f"/_sim/incidents/{event.incident_id}", json=event.change
                    )
                    answer.raise_for_status()
                event.occurred_at = iso_ms(time.time())

        for round_ in plan.rounds:
            await asyncio.gather(*(apply(event) for event in round_))
    return time.monotonic() - started


async def deliver_all(
    url: str, deliveries: list[Event], seconds: float
) -> list[dict[str, Any]]:
    """Each delivery at its time; what the simulator answered for each."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as control:

        async def send(event: Event) -> dict[str, Any]:
            body = {
                "event_type": event.event_type,
                "resource_id": event.incident_id,
                "event_id": event.event_id,
                "occurred_at": event.occurred_at,
            }
            sent = time.monotonic()
            try:
                answer = await control.post("/_sim/webhooks/deliver", json=body)
                deliveries_made = answer.json().get("deliveries") or [{}]
            except httpx.HTTPError as error:
                deliveries_made = [{"error": repr(error)}]
            returned = time.monotonic()
            return {
                "control_seconds": returned - sent,
                "returned": returned,
                **deliveries_made[0],
            }

        start = time.monotonic()
        tasks = []
        for offset, event in zip(
            send_times(len(deliveries), seconds), deliveries, strict=True
        ):
            delay = start + offset - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(event)))
        return list(await asyncio.gather(*tasks))


def mismatched(stack: Stack, plan: StormPlan) -> list[str]:
    """Incidents whose entity does not show their final PagerDuty state."""
    entities = httpx.get(
        f"{stack.port.url}/_standin/entities/{BLUEPRINT}", timeout=60
    ).json()
    wrong = []
    for incident_id, state in plan.final.items():
        entity = entities.get(incident_id) or {}
        shown = (entity.get("properties", {}).get("status"), entity.get("title"))
        if shown != (state.status, state.title):
            wrong.append(incident_id)
    return wrong


def wait_settled(
    stack: Stack, plan: StormPlan, last: float
) -> tuple[float | None, int]:
    """Seconds after `last` (monotonic) when every final state was in Port (None
    if not within WAIT_AFTER), and how many were still wrong at SETTLE_LIMIT."""
    wrong_at_limit: int | None = None
    while True:
        wrong = mismatched(stack, plan)
        elapsed = time.monotonic() - last
        if not wrong:
            return elapsed, wrong_at_limit if wrong_at_limit is not None else 0
        if elapsed >= SETTLE_LIMIT and wrong_at_limit is None:
            wrong_at_limit = len(wrong)
        if elapsed > WAIT_AFTER:
            return None, wrong_at_limit or len(wrong)
        time.sleep(0.25)


def run_storm(
    seed: int = 1,
    incidents: int = INCIDENTS,
    deliveries: int = DELIVERIES,
    seconds: float = SECONDS,
    latency_ms: int = 30,
    rate_limit_per_minute: int = 960,
    overrides: dict[str, str] | None = None,
) -> dict[str, Any]:
    settings = SimSettings(
        services=50,
        incidents=200,
        seed=seed,
        latency_ms=latency_ms,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    with sandbox_stack(settings) as stack:
        titles = open_incidents(stack, incidents)
        plan = plan_storm(list(titles), titles, deliveries, seed=seed)
        process = start_live(stack, overrides or {})
        try:
            changes_seconds = asyncio.run(apply_changes(stack.pagerduty.url, plan))
            stack.pagerduty.post("/_sim/counters/reset")
            cpu_before = tree_cpu_seconds(process.pid)
            load_before = os.getloadavg()[0]
            started = time.monotonic()
            answers = asyncio.run(
                deliver_all(stack.pagerduty.url, plan.deliveries, seconds)
            )
            last = max(answer["returned"] for answer in answers)
            settled_after, wrong_at_limit = wait_settled(stack, plan, last)
            cpu = tree_cpu_seconds(process.pid) - cpu_before
            calls = stack.api_calls()
            log = (stack.workdir / "storm.log").read_text(errors="replace")
        finally:
            stop_process(process)
    return storm_result(
        plan, answers, calls, log, started, last, settled_after, wrong_at_limit
    ) | {
        "changes_seconds": round(changes_seconds, 1),
        "overrides": overrides or {},
        "cpu_seconds_ocean_tree": round(cpu, 1),
        "cpu_ms_per_delivery": round(1000 * cpu / len(answers), 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def storm_result(
    plan: StormPlan,
    answers: list[dict[str, Any]],
    calls: dict[str, Any],
    log: str,
    started: float,
    last: float,
    settled_after: float | None,
    wrong_at_limit: int,
) -> dict[str, Any]:
    acks = [a["seconds"] * 1000 for a in answers if a.get("seconds") is not None]
    control = [a["control_seconds"] * 1000 for a in answers]
    accepted = sum(1 for a in answers if 200 <= (a.get("status_code") or 0) < 300)
    distinct = len(plan.final)
    fetches = int(calls["by_endpoint"].get(FETCH_ENDPOINT, 0))
    p99 = percentile(acks, 0.99)
    result = {
        "incidents": distinct,
        "deliveries": len(answers),
        "unique_events": len(plan.events),
        "state_changes": plan.changes,
        "duplicates": plan.duplicates,
        "accepted": accepted,
        "delivery_seconds": round(last - started, 1),
        "ack_ms": {
            "p50": rounded(percentile(acks, 0.5)),
            "p90": rounded(percentile(acks, 0.9)),
            "p99": rounded(p99),
            "max": rounded(max(acks) if acks else None),
        },
        "ack_ms_control_call_p99": rounded(percentile(control, 0.99)),
        "settled_after_last_delivery_s": rounded(settled_after),
        "wrong_at_limit": wrong_at_limit,
        "fetches": fetches,
        "fetches_per_incident": round(fetches / distinct, 3) if distinct else None,
        "api_calls": calls["total"],
        "api_calls_by_endpoint": calls["by_endpoint"],
        "status_429": calls["status_429"],
        "processor_timeouts": log.count("Processor processing timed out"),
    }
    result["checks"] = {
        f"final states within {SETTLE_LIMIT:g} s": settled_after is not None
        and settled_after <= SETTLE_LIMIT,
        f"fetches <= {FETCH_LIMIT}x incidents": fetches <= FETCH_LIMIT * distinct,
        f"ack p99 < {ACK_P99_LIMIT_MS:g} ms": p99 is not None
        and p99 < ACK_P99_LIMIT_MS,
        "no 429s": calls["status_429"] == 0,
        "every delivery accepted": accepted == len(answers),
    }
    result["ok"] = all(result["checks"].values())
    return result


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def render_storm(storm: dict[str, Any]) -> list[str]:
    ack = storm["ack_ms"]
    settled = storm["settled_after_last_delivery_s"]
    lines = [
        "",
        f"  storm: {storm['incidents']} open incidents, {storm['deliveries']} signed "
        f"deliveries over {storm['delivery_seconds']:.0f} s ({storm['state_changes']} "
        f"state changes made first, {storm['unique_events']} events, "
        f"{storm['duplicates']} duplicates, shuffled, occurred_at = time of change)",
        f"    ack (simulator side, request sent to answer): p50 {ack['p50']} ms, "
        f"p90 {ack['p90']} ms, p99 {ack['p99']} ms, max {ack['max']} ms",
        "    final states in Port: "
        + (
            f"{settled:.1f} s after the last delivery"
            if settled is not None
            else f"NOT within {WAIT_AFTER:.0f} s"
        )
        + f" ({storm['wrong_at_limit']} wrong at {SETTLE_LIMIT:g} s)",
        f"    GET /incidents/{{id}}: {storm['fetches']} for {storm['incidents']} "
        f"incidents ({storm['fetches_per_incident']}x); all PagerDuty calls "
        f"{storm['api_calls']}; 429s: {storm['status_429']}; accepted "
        f"{storm['accepted']}/{storm['deliveries']}",
        f"    integration CPU: {storm.get('cpu_seconds_ocean_tree')} s "
        f"({storm.get('cpu_ms_per_delivery')} ms per delivery); event workers "
        f"{storm.get('overrides', {}).get('OCEAN__EVENT_WORKERS_COUNT', 1)}; "
        f"1-min load average before/after {storm.get('load_average_1min')}",
    ]
    failed = [name for name, passed in storm["checks"].items() if not passed]
    lines.append(
        "    checks: " + ("all met" if not failed else "MISSED " + "; ".join(failed))
    )
    return lines
