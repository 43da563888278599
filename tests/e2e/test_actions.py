"""Self-service actions through a real always-on `ocean sail` (POLLING, actions
processor on): each run is triggered in the Port stand-in as a Port user would,
claimed and executed by Ocean, written to the PagerDuty simulator (checked:
operation, body, `From`), and written through to the catalog.

One sandbox for the module; the tests run in file order (the burst of runs last).
"""

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.bench_core.action_runs import (
    ACTIONS_ENV,
    RunView,
    enqueue,
    run_action,
    wait_for_bound_actions,
    wait_for_runs,
    wait_until,
)
from sandbox.stack import (
    SANDBOX_TOKEN,
    SimSettings,
    Stack,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)
from tests.e2e.conftest import pagerduty_list

OPEN_INCIDENTS = 12
BURST = 100
WRITE_THROUGH_SECONDS = 2.0


@dataclass
class Live:
    stack: Stack
    process: subprocess.Popen[bytes]
    incidents: list[str]  # open incidents the tests take one by one
    burst: list[str]  # open incidents for the burst of acknowledgements
    users: list[dict[str, Any]]

    def take_incident(self) -> str:
        return self.incidents.pop(0)

    @property
    def email(self) -> str:
        return str(self.users[0]["email"])


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with sandbox_stack(SimSettings(services=12, incidents=150, seed=21)) as stack:
        created = [
            stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
            for _ in range(OPEN_INCIDENTS + BURST)
        ]
        ids = [str(answer["incident"]["id"]) for answer in created]
        process = stack.start_integration("POLLING", ACTIONS_ENV)
        try:
            wait_until(
                lambda: stack.resync_status() == "completed", 180, "the first resync"
            )
            wait_for_bound_actions(stack.workdir / "ocean.log")
            users = pagerduty_list(stack, "/users", "users")
            yield Live(
                stack, process, ids[:OPEN_INCIDENTS], ids[OPEN_INCIDENTS:], users
            )
        finally:
            stop_process(process)


# ------------------------------------------------------------------ helpers
def writes(live: Live) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = live.stack.pagerduty.get("/_sim/writes")["writes"]
    return found


def entity(live: Live, blueprint: str, identifier: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (
        live.stack.catalog().get(blueprint, {}).get(identifier)
    )
    return found


def incident_property(live: Live, incident_id: str, name: str) -> Any:
    return (
        (entity(live, "pagerdutyIncident", incident_id) or {}).get("properties") or {}
    ).get(name)


def shown_within(live: Live, run: RunView, check: Any, what: str) -> None:
    """`check()` holds in the catalog within 2 s of the run's success."""
    ended = run.ended_at()
    assert run.status == "SUCCESS", run.log
    assert ended is not None
    deadline = ended.timestamp() + WRITE_THROUGH_SECONDS
    while not check():
        assert (
            time.time() < deadline
        ), f"{what} not in Port 2 s after the run: {run.log}"
        time.sleep(0.05)


def act(live: Live, action: str, **properties: Any) -> RunView:
    return run_action(live.stack.port.url, f"pagerduty_{action}", properties)


def last_write(live: Live) -> dict[str, Any]:
    return writes(live)[-1]


def pd_get(live: Live, path: str) -> Any:
    """What PagerDuty's API answers, read with the sandbox's token."""
    response = httpx.get(
        f"{live.stack.pagerduty.url}{path}",
        headers=pagerduty_headers(),
        timeout=30,
    )
    response.raise_for_status()
    return response.json()


# ------------------------------------------------------------------ actions
def test_acknowledge_writes_as_the_port_user_and_shows_in_port(live: Live) -> None:
    incident_id = live.take_incident()
    assert incident_property(live, incident_id, "status") == "triggered"
    run = act(
        live, "acknowledge_incident", incidentId=incident_id, fromEmail=live.email
    )
    write = last_write(live)
    assert (write["method"], write["path"], write["actor"]) == (
        "PUT",
        f"/incidents/{incident_id}",
        live.email,
    )
    assert write["body"] == {
        "incident": {"type": "incident_reference", "status": "acknowledged"}
    }
    shown_within(
        live,
        run,
        lambda: incident_property(live, incident_id, "status") == "acknowledged",
        "acknowledged",
    )
    assert run.messages[-1].startswith(f"Acknowledged incident {incident_id}")
    again = act(
        live, "acknowledge_incident", incidentId=incident_id, fromEmail=live.email
    )
    assert again.status == "SUCCESS"
    assert "already acknowledged; nothing changed" in again.log
    assert last_write(live) == write  # nothing written the second time


def test_resolve_adds_the_resolution_as_a_note(live: Live) -> None:
    incident_id = live.take_incident()
    run = act(
        live,
        "resolve_incident",
        incidentId=incident_id,
        resolution="Rolled back the deploy",
        fromEmail=live.email,
    )
    assert (
        last_write(live)["body"]["incident"]["resolution"] == "Rolled back the deploy"
    )
    shown_within(
        live,
        run,
        lambda: incident_property(live, incident_id, "status") == "resolved",
        "resolved",
    )
    (note,) = pd_get(live, f"/incidents/{incident_id}/notes")["notes"]
    assert note["content"] == "Rolled back the deploy"
    assert note["user"]["id"] == live.users[0]["id"]  # the From user wrote it
    again = act(live, "resolve_incident", incidentId=incident_id, fromEmail=live.email)
    assert again.status == "SUCCESS" and "already resolved" in again.log


def test_reassign_to_a_user_then_to_a_policy(live: Live) -> None:
    incident_id = live.take_incident()
    assignee = live.users[5]
    run = act(
        live,
        "reassign_incident",
        incidentId=incident_id,
        assigneeEmail=assignee["email"],
        fromEmail=live.email,
    )
    assert last_write(live)["body"]["incident"]["assignments"] == [
        {"assignee": {"id": assignee["id"], "type": "user_reference"}}
    ]
    shown_within(
        live,
        run,
        lambda: (entity(live, "pagerdutyIncident", incident_id) or {})
        .get("relations", {})
        .get("assignees")
        == [assignee["id"]],
        "the new assignee",
    )
    current = pd_get(live, f"/incidents/{incident_id}")["incident"][
        "escalation_policy"
    ]["id"]
    policies = pagerduty_list(live.stack, "/escalation_policies", "escalation_policies")
    other = next(p for p in policies if p["id"] != current)
    run = act(
        live,
        "reassign_incident",
        incidentId=incident_id,
        escalationPolicyId=other["id"],
        fromEmail=live.email,
    )
    shown_within(
        live,
        run,
        lambda: incident_property(live, incident_id, "escalation_policy")
        == other["summary"],
        "the new escalation policy",
    )
    both = act(
        live,
        "reassign_incident",
        incidentId=incident_id,
        assigneeEmail=assignee["email"],
        escalationPolicyId=other["id"],
        fromEmail=live.email,
    )
    assert both.status == "FAILURE" and "exactly one" in both.log


def test_escalate_snooze_note_and_urgency(live: Live) -> None:
    incident_id = live.take_incident()
    run = act(
        live,
        "escalate_incident",
        incidentId=incident_id,
        escalationLevel=1,
        fromEmail=live.email,
    )
    assert run.status == "SUCCESS", run.log
    assert last_write(live)["body"]["incident"]["escalation_level"] == 1
    run = act(
        live,
        "snooze_incident",
        incidentId=incident_id,
        durationMinutes=30,
        fromEmail=live.email,
    )
    snooze = last_write(live)
    assert (snooze["path"], snooze["body"], snooze["actor"]) == (
        f"/incidents/{incident_id}/snooze",
        {"duration": 1800},
        live.email,
    )
    assert "acknowledged it first" in run.log
    shown_within(
        live,
        run,
        lambda: incident_property(live, incident_id, "status") == "acknowledged",
        "acknowledged by the snooze",
    )
    run = act(
        live,
        "add_incident_note",
        incidentId=incident_id,
        note="Paged the DBA",
        fromEmail=live.email,
    )
    note = last_write(live)
    assert (note["path"], note["body"], note["actor"]) == (
        f"/incidents/{incident_id}/notes",
        {"note": {"content": "Paged the DBA"}},
        live.email,
    )
    wanted = (
        "low" if incident_property(live, incident_id, "urgency") == "high" else "high"
    )
    run = act(
        live,
        "change_incident_urgency",
        incidentId=incident_id,
        urgency=wanted,
        fromEmail=live.email,
    )
    shown_within(
        live,
        run,
        lambda: incident_property(live, incident_id, "urgency") == wanted,
        "the new urgency",
    )


def test_trigger_creates_an_incident_and_deduplicates_its_key(live: Live) -> None:
    services = pagerduty_list(live.stack, "/services", "services")
    service = services[0]
    properties = {
        "serviceId": service["id"],
        "title": "Checkout latency over 2 s",
        "urgency": "low",
        "details": "p99 at 2.4 s since 10:02",
        "incidentKey": "checkout-latency",
        "fromEmail": live.email,
    }
    run = act(live, "trigger_incident", **properties)
    created = next(
        w for w in writes(live) if w["operation"] == "create" and w["status"] == 201
    )
    assert created["actor"] == live.email
    assert created["body"]["incident"]["incident_key"] == "checkout-latency"
    new_id = run.messages[-1].split()[2]
    assert run.messages[-1].startswith(f"Created incident {new_id}")
    shown_within(
        live,
        run,
        lambda: incident_property(live, new_id, "status") == "triggered",
        "the new incident",
    )
    assert last_write(live)["path"] == f"/incidents/{new_id}/notes"  # the details
    again = act(live, "trigger_incident", **properties)
    assert again.status == "SUCCESS", again.log
    assert (
        f"de-duplicated incidentKey 'checkout-latency': incident {new_id}" in again.log
    )


def test_take_oncall_puts_the_user_on_call_in_port(live: Live) -> None:
    policies = pagerduty_list(live.stack, "/escalation_policies", "escalation_policies")
    services = pagerduty_list(live.stack, "/services", "services")
    served = {s["escalation_policy"]["id"]: s for s in services}
    policy = next(
        p
        for p in policies
        if p["id"] in served
        and p["escalation_rules"][0]["targets"][0]["type"] == "schedule_reference"
    )
    schedule_id = policy["escalation_rules"][0]["targets"][0]["id"]
    service = served[policy["id"]]
    taker = live.users[7]
    run = act(
        live, "take_oncall", scheduleId=schedule_id, userEmail=taker["email"], hours=3
    )
    override = last_write(live)
    assert (override["operation"], override["path"], override["status"]) == (
        "create_overrides",
        f"/schedules/{schedule_id}/overrides",
        201,
    )
    assert override["body"]["overrides"][0]["user"]["id"] == taker["id"]

    def taker_on_call() -> bool:
        oncalls = live.stack.catalog().get("pagerdutyOncall", {}).values()
        return any(
            o["properties"]["userEmail"] == taker["email"]
            and o["relations"]["pagerdutySchedule"] == schedule_id
            and o["relations"]["pagerdutyEscalationPolicy"] == policy["id"]
            for o in oncalls
        )

    shown_within(live, run, taker_on_call, "the taker's on-call shift")
    shown_within(
        live,
        run,
        lambda: (entity(live, "pagerdutyService", service["id"]) or {})
        .get("properties", {})
        .get("oncall")
        == taker["email"],
        "the service's new on-call",
    )
    missing = act(live, "take_oncall", scheduleId="PNOSUCH", userEmail=taker["email"])
    assert missing.status == "FAILURE"
    assert "PagerDuty has no schedule PNOSUCH: check scheduleId" in missing.log


# ------------------------------------------------------------------ failures
def test_failures_name_the_cause_and_the_fix(live: Live) -> None:
    stack = live.stack
    incident_id = live.take_incident()
    before = stack.api_calls()["total"]
    missing = act(live, "acknowledge_incident", fromEmail=live.email)
    assert missing.status == "FAILURE"
    assert missing.messages == [
        "Input incidentId is required and was empty; fill it in."
    ]
    assert stack.api_calls()["total"] == before  # refused before asking PagerDuty

    no_actor = act(live, "acknowledge_incident", incidentId=incident_id)
    assert no_actor.status == "FAILURE" and "actionsFromEmail" in no_actor.log
    stranger = act(
        live,
        "acknowledge_incident",
        incidentId=incident_id,
        fromEmail="someone@elsewhere.test",
    )
    assert stranger.status == "FAILURE"
    assert "'someone@elsewhere.test' is not a PagerDuty user" in stranger.log
    unknown = act(
        live, "acknowledge_incident", incidentId="PNOSUCH", fromEmail=live.email
    )
    assert unknown.status == "FAILURE"
    assert "PagerDuty has no incident PNOSUCH: check incidentId" in unknown.log

    stack.pagerduty.post("/_sim/config", {"read_only_tokens": [SANDBOX_TOKEN]})
    try:
        read_only = act(
            live, "acknowledge_incident", incidentId=incident_id, fromEmail=live.email
        )
    finally:
        stack.pagerduty.post("/_sim/config", {"read_only_tokens": []})
    assert read_only.status == "FAILURE"
    (line,) = read_only.messages
    assert "403" in line and "full-access REST API key" in line
    assert "incidents.write" in line
    for run in (missing, no_actor, stranger, unknown, read_only):
        assert len(run.messages) == 1, run.log
    everything = stack.port.get("/_standin/runs")["runs"]
    assert all(SANDBOX_TOKEN not in str(r["logs"]) for r in everything)


def test_runs_on_one_incident_run_in_order(live: Live) -> None:
    incident_id = live.take_incident()
    port = live.stack.port.url
    common = {"incidentId": incident_id, "fromEmail": live.email}
    ids = [
        enqueue(port, "pagerduty_add_incident_note", {**common, "note": "first"}),
        enqueue(port, "pagerduty_acknowledge_incident", common),
        enqueue(port, "pagerduty_add_incident_note", {**common, "note": "second"}),
        enqueue(port, "pagerduty_resolve_incident", common),
    ]
    ended = wait_for_runs(port, ids)
    assert [r.status for r in ended] == ["SUCCESS"] * 4, [r.log for r in ended]
    mine = [w for w in writes(live) if incident_id in w["path"]]
    assert [
        w["body"].get("note", {}).get("content") or w["body"]["incident"]["status"]
        for w in mine
    ] == ["first", "acknowledged", "second", "resolved"]


def test_a_burst_of_acknowledgements_waits_instead_of_429(live: Live) -> None:
    """100 runs at once; PagerDuty allows 150 requests per 10 s here, so they
    need about two windows: the budget waits, nothing is refused."""
    stack = live.stack
    stack.pagerduty.post(
        "/_sim/config", {"rate_limit_per_minute": 150, "rate_window_seconds": 10}
    )
    try:
        before = stack.api_calls()
        port = stack.port.url
        ids = [
            enqueue(
                port,
                "pagerduty_acknowledge_incident",
                {"incidentId": incident_id, "fromEmail": live.email},
            )
            for incident_id in live.burst
        ]
        ended = wait_for_runs(port, ids, timeout=180)
        after = stack.api_calls()
    finally:
        stack.pagerduty.post(
            "/_sim/config", {"rate_limit_per_minute": 960, "rate_window_seconds": 60}
        )
    failed = [r.log for r in ended if r.status != "SUCCESS"]
    assert failed == []
    assert after["status_429"] == before["status_429"]
    catalog = stack.catalog()["pagerdutyIncident"]
    assert all(catalog[i]["properties"]["status"] == "acknowledged" for i in live.burst)
