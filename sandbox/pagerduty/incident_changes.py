"""Changing incidents in the store: creation and status/field changes.

Shared by the API's incident writes and the control API (``/_sim/incidents``).
"""

from __future__ import annotations

import uuid

from sandbox.pagerduty.data_incidents import (
    IncidentSpec,
    apply_status,
    build_incident_object,
    set_priority,
)
from sandbox.pagerduty.errors import invalid_input
from sandbox.pagerduty.store import IncidentTimes, JsonDict, PdStore, iso
from sandbox.pagerduty.times import parse_timestamp

INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
PATCHABLE_INCIDENT_FIELDS = ("status", "title", "description", "urgency", "priority_id")


def checked_priority(store: PdStore, priority_id: object) -> str | None:
    if priority_id is None:
        return None
    if str(priority_id) not in store.priorities:
        invalid_input(f"Unknown priority {priority_id}")
    return str(priority_id)


def change_status(store: PdStore, incident: JsonDict, status: str, now: float) -> None:
    if status not in INCIDENT_STATUSES:
        invalid_input(f"status must be one of {list(INCIDENT_STATUSES)}")
    times = store.incident_times[incident["id"]]
    if status == "triggered":
        times.acknowledged = times.engaged = times.resolved = None
    if status == "acknowledged":
        times.acknowledged = times.acknowledged or now
        times.engaged = times.engaged or now
        times.resolved = None
    if status == "resolved":
        times.acknowledged = times.acknowledged or now
        times.resolved = now
    apply_status(store, incident, times, status)
    incident["last_status_change_at"] = iso(now)


def patch_incident(store: PdStore, incident: JsonDict, changes: JsonDict) -> None:
    unknown = set(changes) - set(PATCHABLE_INCIDENT_FIELDS)
    if unknown:
        invalid_input(f"Unsupported incident fields: {sorted(unknown)}")
    now = store.now()
    for key in ("title", "description", "urgency"):
        if key in changes:
            incident[key] = changes[key]
    if "title" in changes:
        set_title(store, incident, str(changes["title"]), changes.get("description"))
    if "priority_id" in changes:
        set_priority(store, incident, checked_priority(store, changes["priority_id"]))
    if "status" in changes:
        change_status(store, incident, str(changes["status"]), now)
    incident["updated_at"] = iso(now)


def set_title(
    store: PdStore, incident: JsonDict, title: str, description: object = None
) -> None:
    incident["title"] = title
    incident["summary"] = f"[#{incident['incident_number']}] {title}"
    incident["description"] = str(description) if description is not None else title
    store.register_ref(incident)


def create_incident(store: PdStore, body: JsonDict) -> JsonDict:
    """A new incident from control-API fields (all optional)."""
    service_id = body.get("service_id") or store.sorted_values(store.services)[0]["id"]
    if service_id not in store.services:
        invalid_input(f"Unknown service {service_id}")
    raw_created = body.get("created_at")
    created = (
        parse_timestamp(str(raw_created), "created_at") if raw_created else store.now()
    )
    spec = IncidentSpec(
        incident_id=store.ids.new(),
        number=store.next_incident_number,
        title=str(body.get("title") or "Simulated incident"),
        service_id=service_id,
        status="triggered",
        urgency=str(body.get("urgency") or "high"),
        priority_id=checked_priority(store, body.get("priority_id")),
        incident_key=str(body.get("incident_key") or uuid.uuid4().hex),
    )
    times = IncidentTimes(created, None, None, None)
    incident = build_incident_object(store, spec, times)
    store.next_incident_number += 1
    store.add_incident(incident, times)
    store.services[service_id]["last_incident_timestamp"] = incident["created_at"]
    status = body.get("status")
    if status and status != "triggered":
        change_status(store, incident, str(status), max(created, store.now()))
    return incident
