"""`pagey.ping`: PagerDuty's test delivery, used as the start-up self-test."""

import asyncio

from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.handlers.webhook.abstract_webhook_processor import (
    AbstractWebhookProcessor,
)
from port_ocean.core.handlers.webhook.webhook_event import (
    EventHeaders,
    EventPayload,
    WebhookEvent,
    WebhookEventRawResults,
)

from webhook_processors.base import event_type, is_verified_delivery

PING_EVENT = "pagey.ping"


class PingWatch:
    """Set when a verified ping reaches this process."""

    def __init__(self) -> None:
        self._arrived = asyncio.Event()

    def expect(self) -> None:
        self._arrived.clear()

    def arrived(self) -> None:
        self._arrived.set()

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._arrived.wait(), seconds)
        except TimeoutError:
            return False
        return True


ping_watch = PingWatch()


class PingWebhookProcessor(AbstractWebhookProcessor):
    """Records a verified ping; it changes nothing in Port."""

    async def should_process_event(self, event: WebhookEvent) -> bool:
        return event_type(event.payload) == PING_EVENT

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        if await is_verified_delivery(event):
            ping_watch.arrived()
        return []

    async def authenticate(self, payload: EventPayload, headers: EventHeaders) -> bool:
        return await is_verified_delivery(self.event)

    async def validate_payload(self, payload: EventPayload) -> bool:
        return event_type(payload) == PING_EVENT

    async def handle_event(
        self, payload: EventPayload, resource: ResourceConfig
    ) -> WebhookEventRawResults:
        return WebhookEventRawResults([], [])
