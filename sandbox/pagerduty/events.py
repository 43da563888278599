"""V3 webhook event payloads: what PagerDuty puts in a delivery's body."""

from __future__ import annotations

from sandbox.pagerduty.oncall_model import oncall_user_for_policy
from sandbox.pagerduty.store import JsonDict, PdStore, iso


def incident_webhook_data(store: PdStore, incident: JsonDict) -> JsonDict:
    """The incident representation PagerDuty V3 webhooks carry."""
    priority = incident.get("priority")
    return {
        "id": incident["id"],
        "type": "incident",
        "self": incident["self"],
        "html_url": incident["html_url"],
        "number": incident["incident_number"],
        "status": incident["status"],
        "incident_key": incident["incident_key"],
        "created_at": incident["created_at"],
        "title": incident["title"],
        "service": incident["service"],
        "assignees": [item["assignee"] for item in incident["assignments"]],
        "escalation_policy": incident["escalation_policy"],
        "teams": incident["teams"],
        "priority": None if priority is None else {**store.ref(priority["id"])},
        "urgency": incident["urgency"],
        "conference_bridge": incident.get("conference_bridge"),
        "resolve_reason": incident.get("resolve_reason"),
        "incident_type": {"name": "incident_default"},
    }


def service_webhook_data(service: JsonDict) -> JsonDict:
    keys = (
        "id",
        "type",
        "summary",
        "self",
        "html_url",
        "name",
        "description",
        "status",
    )
    data = {key: service[key] for key in keys}
    data.update(
        {"escalation_policy": service["escalation_policy"], "teams": service["teams"]}
    )
    return data


def webhook_event_data(
    store: PdStore, event_type: str, resource_id: str, event_id: str
) -> tuple[str, JsonDict]:
    """Return (resource_type, data) for a V3 webhook event, or raise KeyError."""
    if event_type.startswith("service."):
        service = store.services.get(resource_id) or store.deleted_services[resource_id]
        return "service", service_webhook_data(service)
    incident = store.incidents[resource_id]
    incident_ref = store.ref(resource_id)
    agent = _event_agent(store, incident)
    if event_type == "incident.annotated":
        return "incident", {
            "id": f"N{event_id[:6].upper()}",
            "type": "incident_note",
            "content": f"Investigating {incident['title']}",
            "trimmed": False,
            "incident": incident_ref,
        }
    if event_type == "incident.status_update_published":
        return "incident", {
            "id": f"S{event_id[:6].upper()}",
            "type": "status_update",
            "message": f"Mitigation in progress for {incident['title']}",
            "sender": agent,
            "incident": incident_ref,
        }
    if event_type in ("incident.responder.added", "incident.responder.replied"):
        state = "pending" if event_type.endswith("added") else "joined"
        return "incident", {
            "type": "incident_responder",
            "user": agent,
            "escalation_policy": None,
            "message": "Please help with this incident",
            "state": state,
            "incident": incident_ref,
        }
    return "incident", incident_webhook_data(store, incident)


def _event_agent(store: PdStore, incident: JsonDict) -> JsonDict:
    if incident["assignments"]:
        return dict(incident["assignments"][0]["assignee"])
    policy_id = incident["escalation_policy"]["id"]
    if policy_id in store.policies:
        return dict(store.ref(oncall_user_for_policy(store, policy_id, store.now())))
    return dict(store.ref(next(iter(store.users))))


def webhook_event(
    store: PdStore,
    event_type: str,
    resource_id: str,
    event_id: str,
    occurred_at: str | None = None,
) -> JsonDict:
    """The event as delivered now; ``occurred_at`` (ISO-8601) says when it happened
    if not now: a delivery that lags the change it reports."""
    resource_type, data = webhook_event_data(store, event_type, resource_id, event_id)
    agent = (
        _event_agent(store, store.incidents[resource_id])
        if resource_type == "incident"
        else None
    )
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "occurred_at": occurred_at or iso(store.now()),
            "agent": agent,
            "client": (
                {"name": "PagerDuty Sandbox"} if resource_type == "incident" else None
            ),
            "data": data,
        }
    }


PING_MESSAGE = "Hello from your friend Pagey!"


def ping_event(store: PdStore, event_id: str) -> JsonDict:
    """The ``pagey.ping`` event ``POST /webhook_subscriptions/{id}/ping`` sends."""
    return {
        "event": {
            "id": event_id,
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "occurred_at": iso(store.now()),
            "agent": None,
            "client": None,
            "data": {"message": PING_MESSAGE, "type": "ping"},
        }
    }
