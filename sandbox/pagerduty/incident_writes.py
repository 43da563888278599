"""Incident writes: ``POST /incidents``, ``PUT /incidents/{id}`` and
``POST /incidents/{id}/snooze``.

With an account API key they need ``From: <email of a user of the account>``
(checked by the contract for presence, here for the user); PagerDuty records
that user as the actor: as the acknowledger, as ``last_status_change_by``, and
as the author of a resolution note.

``PUT`` acknowledges, resolves (``resolution`` becomes a note), re-triggers,
escalates (``escalation_level``), reassigns (``assignments`` or
``escalation_policy``; see ``incident_assignments``) and changes urgency,
priority and title. An acknowledged incident stays assigned as it was;
escalating or reassigning a resolved incident answers 400 (a status change
re-opens it, as the control API does).

Snooze: the facts file leaves open whether a triggered incident can be snoozed;
the simulator takes the stricter reading (only an acknowledged one, 400
otherwise). A snoozed incident shows the pending ``unacknowledge`` action at
the end of the snooze; the simulator does not re-trigger it by itself.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.data_incidents import set_priority
from sandbox.pagerduty.errors import invalid_input, json_response, lookup, read_json
from sandbox.pagerduty.incident_assignments import (
    RESOLVED,
    escalate,
    reassign_to_policy,
    reassign_to_users,
)
from sandbox.pagerduty.incident_changes import (
    change_status,
    checked_priority,
    create_incident,
    set_title,
)
from sandbox.pagerduty.incident_notes import acting_user, add_note
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict, PdStore, iso

DUPLICATE_KEY = "Open incident with key already exists on this service"


async def create(sim: PagerDutySim, request: Request) -> Response:
    actor = acting_user(sim, request)
    payload: JsonDict = (await read_json(request)).get("incident") or {}
    store = sim.store
    service_id = str((payload.get("service") or {}).get("id") or "")
    if service_id not in store.services:
        invalid_input(f"service {service_id or '(none)'} does not exist")
    key = payload.get("incident_key")
    if key and any(
        inc["incident_key"] == key
        and inc["service"]["id"] == service_id
        and inc["status"] != "resolved"
        for inc in store.incidents.values()
    ):
        invalid_input(DUPLICATE_KEY)
    incident = create_incident(
        store,
        {
            "service_id": service_id,
            "title": payload.get("title"),
            "urgency": payload.get("urgency"),
            "incident_key": key,
            "priority_id": (payload.get("priority") or {}).get("id"),
        },
    )
    if actor is not None:
        incident["last_status_change_by"] = store.ref(actor)
    return json_response({"incident": incident}, 201)


def set_status(
    store: PdStore, incident: JsonDict, status: str, actor: str | None, now: float
) -> None:
    kept = incident["assignments"]
    change_status(store, incident, status, now)
    if status != "resolved" and kept:
        incident["assignments"] = kept
    if actor is None:
        return
    incident["last_status_change_by"] = store.ref(actor)
    if status == "acknowledged":
        incident["acknowledgements"] = [
            {"at": iso(now), "acknowledger": store.ref(actor)}
        ]


async def update(sim: PagerDutySim, request: Request) -> Response:
    actor = acting_user(sim, request)
    incident = lookup(sim.store.incidents, request)
    payload: JsonDict = (await read_json(request)).get("incident") or {}
    if incident["status"] == "resolved":
        # Whether the API changes (or reopens) a resolved incident is not
        # documented: the stricter reading refuses every change to one.
        invalid_input(RESOLVED)
    store = sim.store
    now = store.now()
    if "title" in payload:
        set_title(store, incident, str(payload["title"]))
    if "urgency" in payload:
        incident["urgency"] = payload["urgency"]
    if "priority" in payload:
        priority = payload["priority"]
        priority_id = priority.get("id") if isinstance(priority, dict) else priority
        set_priority(store, incident, checked_priority(store, priority_id))
    if "escalation_policy" in payload:
        reassign_to_policy(store, incident, payload["escalation_policy"], now)
    if "assignments" in payload:
        reassign_to_users(store, incident, payload["assignments"], now)
    if "escalation_level" in payload:
        escalate(store, incident, payload["escalation_level"], now)
    if "status" in payload:
        set_status(store, incident, str(payload["status"]), actor, now)
    resolution = payload.get("resolution")
    if isinstance(resolution, str) and resolution.strip():
        if incident["status"] != "resolved":
            invalid_input("resolution is only taken with status resolved")
        add_note(sim, incident["id"], resolution, actor)
    incident["updated_at"] = iso(now)
    return json_response({"incident": incident})


async def snooze(sim: PagerDutySim, request: Request) -> Response:
    actor = acting_user(sim, request)
    incident = lookup(sim.store.incidents, request)
    duration = (await read_json(request)).get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 1:
        invalid_input("duration must be a positive number of seconds")
    if incident["status"] == "resolved":
        invalid_input(RESOLVED)
    if incident["status"] != "acknowledged":
        invalid_input("Incident must be acknowledged before it can be snoozed")
    now = sim.store.now()
    incident["pending_actions"] = [{"type": "unacknowledge", "at": iso(now + duration)}]
    if actor is not None:
        incident["last_status_change_by"] = sim.store.ref(actor)
    incident["updated_at"] = iso(now)
    return json_response({"incident": incident}, 201)
