"""Incident writes: ``POST /incidents`` and ``PUT /incidents/{id}``.

With an account API key they need ``From: <email of a user of the account>``
(checked by the contract for presence, here for the user); PagerDuty records
that user as the actor.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.data_incidents import set_priority
from sandbox.pagerduty.errors import invalid_input, json_response, lookup, read_json
from sandbox.pagerduty.incident_changes import (
    change_status,
    checked_priority,
    create_incident,
    set_title,
)
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict, iso


def acting_user(sim: PagerDutySim, request: Request) -> str | None:
    """The user the ``From`` header names; 400 when it names nobody."""
    email = request.headers.get("from")
    if email is None:
        return None
    user_id = sim.store.users_by_email.get(email.strip().lower())
    if user_id is None:
        invalid_input("From header must be the email of a user of the account")
    return user_id


async def create(sim: PagerDutySim, request: Request) -> Response:
    acting_user(sim, request)
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
        invalid_input("Open incident with key already exists on this service")
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
    return json_response({"incident": incident}, 201)


async def update(sim: PagerDutySim, request: Request) -> Response:
    acting_user(sim, request)
    incident = lookup(sim.store.incidents, request)
    payload: JsonDict = (await read_json(request)).get("incident") or {}
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
    if "status" in payload:
        change_status(store, incident, str(payload["status"]), now)
    incident["updated_at"] = iso(now)
    return json_response({"incident": incident})
