"""Generated incidents: their timelines, statuses and assignments.

Fields PagerDuty's schema does not mark nullable (``priority``,
``resolved_at``, ``conference_bridge``, ...) are left out when there is no
value, rather than sent as null.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.pagerduty.data_context import INCIDENT_SPAN_DAYS, RECENT_DAYS, BuildContext
from sandbox.pagerduty.oncall_model import oncall_user_for_policy
from sandbox.pagerduty.store import DAY, IncidentTimes, JsonDict, PdStore, iso
from sandbox.pagerduty.words import PROBLEMS


@dataclass
class IncidentSpec:
    incident_id: str
    number: int
    title: str
    service_id: str
    status: str
    urgency: str
    priority_id: str | None
    incident_key: str


# =================================================================== generation
def build_incidents(ctx: BuildContext) -> None:
    store, rng = ctx.store, ctx.rng
    span = INCIDENT_SPAN_DAYS * DAY
    created = sorted(ctx.now - rng.random() * span for _ in range(ctx.sizes.incidents))
    services = list(store.services.values())
    priorities = list(store.priorities.values())
    for created_ts in created:
        service = rng.choice(services)
        incident, times = _build_incident(ctx, created_ts, service, priorities)
        store.add_incident(incident, times)
        service["last_incident_timestamp"] = incident["created_at"]


def _pick_status(ctx: BuildContext, created_ts: float) -> str:
    if ctx.now - created_ts > RECENT_DAYS * DAY:
        return "resolved"
    return ctx.rng.choices(
        ("triggered", "acknowledged", "resolved"), weights=(3, 3, 4)
    )[0]


def _timeline(ctx: BuildContext, created_ts: float, status: str) -> IncidentTimes:
    rng = ctx.rng
    ack = created_ts + rng.uniform(30, 3600)
    engaged = ack + rng.uniform(0, 1800)
    resolved = ack + rng.uniform(300, 2 * DAY)
    latest = ctx.now - 1
    if status == "triggered":
        return IncidentTimes(created_ts, None, None, None)
    if status == "acknowledged":
        ack = min(ack, latest)
        return IncidentTimes(created_ts, ack, min(engaged, latest), None)
    return IncidentTimes(
        created_ts,
        min(ack, latest),
        min(engaged, latest),
        max(created_ts, min(resolved, latest)),
    )


def _build_incident(
    ctx: BuildContext, created_ts: float, service: JsonDict, priorities: list[JsonDict]
) -> tuple[JsonDict, IncidentTimes]:
    store, rng = ctx.store, ctx.rng
    status = _pick_status(ctx, created_ts)
    times = _timeline(ctx, created_ts, status)
    title = f"{rng.choice(PROBLEMS)} on {service['name']}"
    priority = None if rng.random() < 0.4 else rng.choice(priorities)
    incident = build_incident_object(
        store,
        IncidentSpec(
            incident_id=store.ids.new(),
            number=store.next_incident_number,
            title=title,
            service_id=service["id"],
            status=status,
            urgency="high" if rng.random() < 0.6 else "low",
            priority_id=None if priority is None else priority["id"],
            incident_key=f"{rng.getrandbits(128):032x}",
        ),
        times,
    )
    store.next_incident_number += 1
    return incident, times


# =================================================================== the object
def build_incident_object(
    store: PdStore, spec: IncidentSpec, times: IncidentTimes
) -> JsonDict:
    service = store.services[spec.service_id]
    incident = store.base_object(
        "incident", spec.incident_id, f"[#{spec.number}] {spec.title}"
    )
    incident.update(
        {
            "incident_number": spec.number,
            "title": spec.title,
            "description": spec.title,
            "created_at": iso(times.created),
            "status": spec.status,
            "incident_key": spec.incident_key,
            "service": store.ref(spec.service_id),
            "assigned_via": "escalation_policy",
            "escalation_policy": store.ref(service["escalation_policy"]["id"]),
            "teams": list(service["teams"]),
            "urgency": spec.urgency,
            "first_trigger_log_entry": trigger_log_ref(store, spec.incident_id),
            "alert_counts": {"all": 1, "triggered": 0, "resolved": 0},
            "pending_actions": [],
            "is_mergeable": True,
            "incidents_responders": [],
            "responder_requests": [],
        }
    )
    set_priority(store, incident, spec.priority_id)
    apply_status(store, incident, times, spec.status)
    return incident


def set_priority(store: PdStore, incident: JsonDict, priority_id: str | None) -> None:
    if priority_id is None:
        incident.pop("priority", None)
    else:
        incident["priority"] = priority_snapshot(store, priority_id)


PRIORITY_SNAPSHOT_KEYS = (
    "id",
    "type",
    "summary",
    "self",
    "html_url",
    "name",
    "color",
    "description",
    "order",
)


def priority_snapshot(store: PdStore, priority_id: str) -> JsonDict:
    """The (shared, read-only) priority object embedded in incidents."""
    cached = store.priority_snapshots.get(priority_id)
    if cached is None:
        priority = store.priorities[priority_id]
        cached = {key: priority[key] for key in PRIORITY_SNAPSHOT_KEYS}
        store.priority_snapshots[priority_id] = cached
    return cached


def trigger_log_ref(store: PdStore, incident_id: str) -> JsonDict:
    log_id = f"R{incident_id[1:]}TRIGGER"
    return {
        "id": log_id,
        "type": "trigger_log_entry_reference",
        "summary": "Triggered through the API.",
        "self": f"{store.base_url}/log_entries/{log_id}",
        "html_url": f"{store.html_base}/incidents/{incident_id}/log_entries/{log_id}",
    }


def apply_status(
    store: PdStore, incident: JsonDict, times: IncidentTimes, status: str
) -> None:
    """Set status-dependent fields of ``incident`` from its timeline."""
    assignee = oncall_user_for_policy(
        store, incident["escalation_policy"]["id"], times.created
    )
    created = iso(times.created)
    incident["status"] = status
    incident["assignments"] = (
        []
        if status == "resolved"
        else [{"at": created, "assignee": store.ref(assignee)}]
    )
    incident["acknowledgements"] = []
    incident.pop("resolved_at", None)
    incident["alert_counts"] = {"all": 1, "triggered": 1, "resolved": 0}
    changed, changed_by = times.created, store.ref(incident["service"]["id"])
    if status == "acknowledged" and times.acknowledged is not None:
        changed, changed_by = times.acknowledged, store.ref(assignee)
        incident["acknowledgements"] = [
            {"at": iso(changed), "acknowledger": store.ref(assignee)}
        ]
    if status == "resolved" and times.resolved is not None:
        changed, changed_by = times.resolved, store.ref(assignee)
        incident["resolved_at"] = iso(changed)
        incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
    incident["last_status_change_at"] = iso(changed)
    incident["last_status_change_by"] = changed_by
    incident["updated_at"] = iso(changed)
