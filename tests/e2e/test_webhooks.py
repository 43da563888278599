"""Live updates through a real always-on `ocean sail` (POLLING) and signed deliveries
from the PagerDuty simulator to the integration's webhook endpoint."""

import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest

from sandbox.stack import SimSettings, Stack, free_port, sandbox_stack, stop_process


def wait_for(
    condition: Callable[[], bool], timeout: float = 60, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}")


class LiveIntegration:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.app_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        host = f"http://127.0.0.1:{self.app_port}"
        self.process = self.stack.start_integration(
            "POLLING",
            {
                "APPLICATION__PORT": str(self.app_port),
                "OCEAN__INTEGRATION__CONFIG__APP_HOST": host,
            },
        )
        # The first resync of the shipped mapping comes first; a loaded machine
        # (three test workers on two cores) can take over a minute.
        wait_for(self.subscribed, timeout=150, what="the webhook subscription")

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)

    def subscribed(self) -> bool:
        stats = self.stack.pagerduty.get("/_sim/stats")
        return (
            bool(stats["webhook_subscriptions"])
            and self.stack.resync_status() == "completed"
        )


@pytest.fixture(scope="module")
def live() -> Iterator[LiveIntegration]:
    with sandbox_stack(SimSettings(services=12, incidents=300, seed=5)) as stack:
        integration = LiveIntegration(stack)
        integration.start()
        try:
            yield integration
        finally:
            integration.stop()


def incident_entity(stack: Stack, incident_id: str) -> dict[str, Any] | None:
    entity: dict[str, Any] | None = stack.catalog()["pagerdutyIncident"].get(
        incident_id
    )
    return entity


def open_incident(stack: Stack) -> str:
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id: str = created["incident"]["id"]
    deliver(stack, "incident.triggered", incident_id)
    wait_for(
        lambda: incident_entity(stack, incident_id) is not None, what="new incident"
    )
    return incident_id


def deliver(
    stack: Stack, event_type: str, resource_id: str, **extra: Any
) -> dict[str, Any]:
    body = {"event_type": event_type, "resource_id": resource_id, **extra}
    result: dict[str, Any] = stack.pagerduty.post("/_sim/webhooks/deliver", body)
    assert result["deliveries"], result
    return result


def integration_log(stack: Stack) -> str:
    return (stack.workdir / "ocean.log").read_text(errors="replace")


def fetches_of(stack: Stack, path_template: str) -> int:
    counts: dict[str, int] = stack.api_calls()["by_endpoint"]
    return counts.get(f"GET {path_template}", 0)


def test_signed_resolution_updates_the_incident(live: LiveIntegration) -> None:
    stack = live.stack
    incident_id = open_incident(stack)
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"status": "resolved"})
    deliver(stack, "incident.resolved", incident_id)
    wait_for(
        lambda: (incident_entity(stack, incident_id) or {})
        .get("properties", {})
        .get("status")
        == "resolved",
        what="status resolved",
    )


@pytest.mark.parametrize(
    "event_type",
    [
        "incident.annotated",
        "incident.status_update_published",
        "incident.responder.added",
    ],
)
def test_events_about_notes_updates_and_responders_refresh_their_incident(
    live: LiveIntegration, event_type: str
) -> None:
    stack = live.stack
    incident_id = open_incident(stack)
    title = f"renamed before {event_type}"
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"title": title})
    deliver(stack, event_type, incident_id)
    wait_for(
        lambda: (incident_entity(stack, incident_id) or {}).get("title") == title,
        what=f"title refreshed by {event_type}",
    )


@pytest.mark.parametrize(
    "forgery",
    [
        {"secret": "not-the-secret"},
        {"signature": "v1=" + "0" * 64},
        {"signature": "none"},
    ],
)
def test_forged_or_unsigned_delivery_changes_nothing(
    live: LiveIntegration, forgery: dict[str, str]
) -> None:
    stack = live.stack
    incident_id = open_incident(stack)
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"title": "must not land"})
    before = fetches_of(stack, "/incidents/{id}")
    webhook_id = f"forged-{uuid4()}"
    deliver(stack, "incident.annotated", incident_id, webhook_id=webhook_id, **forgery)
    wait_for(
        lambda: f"webhook id '{webhook_id}'" in integration_log(stack),
        what="the forged delivery rejected",
    )
    assert (incident_entity(stack, incident_id) or {}).get("title") != "must not land"
    assert fetches_of(stack, "/incidents/{id}") == before


def test_duplicate_delivery_is_fetched_once(live: LiveIntegration) -> None:
    stack = live.stack
    incident_id = open_incident(stack)
    before = fetches_of(stack, "/incidents/{id}")
    event_id = str(uuid4())
    deliver(stack, "incident.acknowledged", incident_id, event_id=event_id)
    wait_for(
        lambda: fetches_of(stack, "/incidents/{id}") == before + 1, what="first fetch"
    )
    deliver(stack, "incident.acknowledged", incident_id, event_id=event_id)
    wait_for(
        lambda: f"Ignoring PagerDuty event {event_id}" in integration_log(stack),
        what="the redelivery recognised",
    )
    assert fetches_of(stack, "/incidents/{id}") == before + 1


def test_service_deleted_removes_the_service(live: LiveIntegration) -> None:
    stack = live.stack
    catalog = stack.catalog()
    related = {
        e["relations"].get("pagerdutyService")
        for e in catalog["pagerdutyIncident"].values()
    }
    service_id = sorted(set(catalog["pagerdutyService"]) - related)[0]
    stack.pagerduty.delete(f"/_sim/services/{service_id}")
    deliver(stack, "service.deleted", service_id)
    wait_for(
        lambda: service_id not in stack.catalog()["pagerdutyService"],
        what="service entity deleted",
    )


def test_restart_keeps_exactly_one_subscription(live: LiveIntegration) -> None:
    stack = live.stack
    live.stop()
    live.start()
    assert stack.pagerduty.get("/_sim/stats")["webhook_subscriptions"] == 1
    incident_id = open_incident(stack)
    assert incident_entity(stack, incident_id) is not None


def test_queued_deliveries_share_fetch_rounds_in_a_real_ocean(
    live: LiveIntegration,
) -> None:
    """The intake middleware runs inside Ocean's app: deliveries that wait in
    Ocean's queue are fetched along with the first one a worker takes, each
    incident once."""
    stack = live.stack
    incidents = [
        stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})["incident"][
            "id"
        ]
        for _ in range(20)
    ]
    for number, incident_id in enumerate(incidents):
        stack.pagerduty.post(
            f"/_sim/incidents/{incident_id}", {"title": f"round {number}"}
        )
    before = fetches_of(stack, "/incidents/{id}")
    with ThreadPoolExecutor(max_workers=20) as senders:
        list(senders.map(lambda i: deliver(stack, "incident.annotated", i), incidents))
    wait_for(
        lambda: all(
            (incident_entity(stack, i) or {}).get("title") == f"round {n}"
            for n, i in enumerate(incidents)
        ),
        what="every retitled incident in Port",
    )
    assert fetches_of(stack, "/incidents/{id}") - before == len(incidents)
    assert "One fetch round read incidents" in integration_log(stack)
