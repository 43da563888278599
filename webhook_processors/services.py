from typing import cast

from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.webhook_event import (
    EventPayload,
    WebhookEventRawResults,
)

from client import shared_pagerduty_client
from exporters.services import ServiceExporter, matches_selector
from integration import ObjectKind, ServiceResourceConfig
from raw_memory import remember_live
from webhook_processors.base import PagerDutyWebhookProcessor, event_data, event_type

SERVICE_EVENTS = ["service.created", "service.deleted", "service.updated"]


class ServiceWebhookProcessor(PagerDutyWebhookProcessor):
    event_prefix = "service."
    kind = ObjectKind.SERVICES

    async def handle_event(
        self, payload: EventPayload, resource: ResourceConfig
    ) -> WebhookEventRawResults:
        selector = cast(ServiceResourceConfig, resource).selector
        service_id = cast(str, self.object_id(payload))
        if event_type(payload) == "service.deleted":
            remember_live(resource, [], [event_data(payload)])
            # Removed like any object PagerDuty no longer has: by identifier only
            # (the event's data is a reference, not a service the mapping reads).
            await self.remove_vanished(resource, service_id, event_data(payload))
            return WebhookEventRawResults([], [])
        exporter = ServiceExporter(shared_pagerduty_client())
        results = await self.current_state(
            resource,
            service_id,
            selector.read_variant(),
            lambda any_service_id: exporter.one(any_service_id, selector),
            lambda service: matches_selector(service, selector),
            gone=event_data(payload),
        )
        # What on-call hand-offs patch must not be older than what this writes.
        remember_live(
            resource, results.updated_raw_results, results.deleted_raw_results
        )
        return results
