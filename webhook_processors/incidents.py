from typing import cast

from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.webhook_event import (
    EventPayload,
    WebhookEventRawResults,
)

from client import shared_pagerduty_client
from exporters.incidents import IncidentExporter, matches_selector
from integration import IncidentResourceConfig, ObjectKind
from webhook_processors.base import PagerDutyWebhookProcessor, event_data, event_type

INCIDENT_EVENTS = [
    "incident.acknowledged",
    "incident.annotated",
    "incident.conference_bridge.updated",
    "incident.custom_field_values.updated",
    "incident.delegated",
    "incident.escalated",
    "incident.incident_type.changed",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.service_updated",
    "incident.status_update_published",
    "incident.triggered",
    "incident.unacknowledged",
]


def incident_id_of(payload: EventPayload) -> str | None:
    """The incident's id, also for events whose data is a note, a status
    update or a responder request that points at the incident."""
    if not event_type(payload).startswith("incident."):
        return None
    data = event_data(payload)
    parent = data.get("incident")
    source = parent if isinstance(parent, dict) else data
    if source is data and data.get("type") not in (None, "incident"):
        return None
    value = source.get("id")
    return value if isinstance(value, str) and value else None


class IncidentWebhookProcessor(PagerDutyWebhookProcessor):
    event_prefix = "incident."
    kind = ObjectKind.INCIDENTS

    def object_id(self, payload: EventPayload) -> str | None:
        return incident_id_of(payload)

    async def handle_event(
        self, payload: EventPayload, resource: ResourceConfig
    ) -> WebhookEventRawResults:
        selector = cast(IncidentResourceConfig, resource).selector
        incident_id = cast(str, self.object_id(payload))
        exporter = IncidentExporter(shared_pagerduty_client())
        return await self.current_state(
            resource,
            incident_id,
            selector.read_variant(),
            lambda any_incident_id: exporter.one(any_incident_id, selector),
            lambda incident: matches_selector(incident, selector),
            gone={"id": incident_id},
        )
