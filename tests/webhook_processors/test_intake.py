"""Fetch rounds: deliveries noted on arrival are served by the fetch round of the
first one a worker takes (intake.py, intake_middleware.py)."""

import json
import time
from typing import Any
from uuid import uuid4

from port_ocean.integration_testing import IntegrationTestHarness

from integration import ObjectKind
from tests.webhook_processors.test_processors import (
    SECRET,
    deliver,
    delivery,
    landed,
    pd_fetches,
)
from webhook_processors.intake import Intake, process_intake
from webhook_processors.intake_middleware import DeliveryIntakeMiddleware
from webhook_processors.signing import sign

INCIDENTS = ObjectKind.INCIDENTS
QUEUED_EVENTS = {"Q1": "event-q1-again", "Q2": "event-q2", "Q3": "event-q3"}


def test_take_along_skips_the_leader_and_what_is_covered() -> None:
    now = [0.0]
    intake = Intake(clock=lambda: now[0])
    for incident, event in [("Q1", "e1"), ("Q2", "e2"), ("Q3", "e3"), ("Q2", "e4")]:
        now[0] += 1
        intake.note(INCIDENTS, incident, event, occurred_at=100 + now[0])
    assert intake.take_along(INCIDENTS, "v", besides="Q1") == {"Q2": 104, "Q3": 103}
    assert intake.take_along(INCIDENTS, "v", besides="Q1") == {}, "in a round"
    for incident in ("Q2", "Q3"):
        intake.done("v", incident)
    intake.cover(INCIDENTS, "Q2", "v", arrived_before=3.5)
    assert intake.is_covered("v", "e2"), "arrived at 2, before the fetch started"
    assert not intake.is_covered("v", "e4"), "arrived at 4, after it started"
    assert intake.take_along(INCIDENTS, "v", "Q1") == {"Q2": 104, "Q3": 103}
    intake.done("v", "Q2")
    intake.done("v", "Q3")
    intake.cover(INCIDENTS, "Q2", "v")
    assert intake.take_along(INCIDENTS, "v", besides="Q1") == {"Q3": 103}
    assert list(intake.take_along(INCIDENTS, "other read", "Q1", limit=1)) == [
        "Q2"
    ], "covered per read variant; oldest first"
    intake.turn_of(INCIDENTS, "Q3", "e3")
    intake.done("v", "Q3")
    assert intake.take_along(INCIDENTS, "v", besides="Q1") == {}


def test_an_event_without_occurred_at_is_never_served_by_time() -> None:
    intake = Intake()
    intake.note(INCIDENTS, "Q1", "e1", occurred_at=100)
    intake.note(INCIDENTS, "Q1", "e2", occurred_at=None)
    assert intake.take_along(INCIDENTS, "v", besides="") == {"Q1": None}


def test_a_duplicate_delivery_is_not_noted_again() -> None:
    """PagerDuty delivers at least once: a copy arriving after the original's
    turn would wait forever (duplicates are never processed) and draw a fetch."""
    intake = Intake()
    intake.note(INCIDENTS, "Q1", "e1", occurred_at=None)
    intake.turn_of(INCIDENTS, "Q1", "e1")
    intake.note(INCIDENTS, "Q1", "e1", occurred_at=None)
    assert intake.take_along(INCIDENTS, "v", besides="") == {}


def test_notes_and_covers_are_bounded() -> None:
    intake = Intake(max_noted=2, max_covered=2)
    for number in range(5):
        intake.note(INCIDENTS, f"Q{number}", f"e{number}", occurred_at=None)
        intake.cover(INCIDENTS, f"Q{number}", "v")
    assert list(intake.take_along(INCIDENTS, "w", besides="")) == ["Q3", "Q4"]
    assert not intake.is_covered("v", "e2") and intake.is_covered("v", "e4")


async def test_one_round_serves_the_queued_deliveries(
    harness: IntegrationTestHarness,
) -> None:
    intake = process_intake()
    now = time.time()
    intake.note(INCIDENTS, "Q2", "event-q2", occurred_at=now)
    intake.note(INCIDENTS, "Q3", "event-q3", occurred_at=now)
    intake.note(INCIDENTS, "Q1", "event-q1-again", now)  # queued behind the first
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}))
    written = {
        i for blueprint, i in landed(harness) if blueprint == "pagerdutyIncident"
    }
    assert written == {"Q1", "Q2", "Q3"}
    fetches = [pd_fetches(harness, f"/incidents/{i}") for i in ("Q1", "Q2", "Q3")]
    assert fetches == [1, 1, 1], "both blocks read incidents alike: one round"

    for incident_id in ("Q2", "Q3", "Q1"):
        queued = delivery(
            "incident.acknowledged",
            {"id": incident_id},
            event_id=QUEUED_EVENTS[incident_id],
        )
        await deliver(harness, queued)
        assert landed(harness) == [], "already written by the round"
    assert [pd_fetches(harness, f"/incidents/{i}") for i in ("Q1", "Q2", "Q3")] == [
        1,
        1,
        1,
    ], "a delivery that arrived before a fetch of its incident started needs none"


class Downstream:
    def __init__(self) -> None:
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                return


async def arrive(body: bytes, signature: str | None) -> Downstream:
    app = Downstream()
    headers = [(b"content-type", b"application/json")]
    if signature:
        headers.append((b"x-pagerduty-signature", signature.encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/integration/webhook",
        "headers": headers,
    }
    chunks = [body[:10], body[10:]]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: Any) -> None:
        return None

    await DeliveryIntakeMiddleware(app)(scope, receive, send)
    return app


async def test_a_signed_delivery_is_noted_and_passed_on_unchanged(
    harness: IntegrationTestHarness,
) -> None:
    envelope = {
        "id": f"event-{uuid4()}",
        "event_type": "incident.annotated",
        "data": {"type": "incident_note", "incident": {"id": "Q7"}},
    }
    body = json.dumps({"event": envelope}).encode()
    forged = await arrive(body, f"v1={sign(body, 'not-the-secret')}")
    assert forged.body == body
    assert process_intake().take_along(INCIDENTS, "v", besides="") == {}

    signed = await arrive(body, f"v1={sign(body, SECRET)}")
    assert signed.body == body
    assert list(process_intake().take_along(INCIDENTS, "v", besides="")) == ["Q7"]
