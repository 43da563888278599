"""What every PagerDuty webhook processor shares: verification, de-duplication,
and reading the V3 event envelope.

Deliveries are only ever used as a signal: the processors fetch the object's
current state from PagerDuty, so a delivery's content never reaches Port and a
late or replayed delivery cannot roll an entity back.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.webhook.abstract_webhook_processor import (
    AbstractWebhookProcessor,
)
from port_ocean.core.handlers.webhook.webhook_event import (
    EventHeaders,
    EventPayload,
    WebhookEvent,
    WebhookEventRawResults,
)

from client import JSON
from event_scope import event_scoped
from webhook_processors.signing import (
    SIGNATURE_HEADER,
    candidate_secrets,
    is_signed_by_any,
)

WEBHOOK_ID_HEADER = "x-webhook-id"


class RecentDeliveries:
    """Webhook ids seen lately, bounded in both size and age."""

    def __init__(self, max_entries: int = 10_000, ttl_seconds: float = 3600) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def is_redelivery(self, webhook_id: str, trace_id: str) -> bool:
        """True when `webhook_id` came before in another event (another trace)."""
        now = time.monotonic()
        self._forget_older_than(now - self.ttl_seconds)
        if webhook_id in self._seen:
            return self._seen[webhook_id][1] != trace_id
        self._seen[webhook_id] = (now, trace_id)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return False

    def _forget_older_than(self, cutoff: float) -> None:
        while self._seen and next(iter(self._seen.values()))[0] < cutoff:
            self._seen.popitem(last=False)


recent_deliveries = RecentDeliveries()
VERDICT_KEY = "pagerduty.delivery_verified"
FETCHES_KEY = "pagerduty.delivery_fetches"


def lowercase_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def event_envelope(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    envelope = payload.get("event")
    return envelope if isinstance(envelope, dict) else {}


def event_type(payload: Any) -> str:
    value = event_envelope(payload).get("event_type")
    return value if isinstance(value, str) else ""


def event_data(payload: Any) -> dict[str, Any]:
    data = event_envelope(payload).get("data")
    return data if isinstance(data, dict) else {}


async def raw_body_of(event: WebhookEvent) -> bytes | None:
    # Ocean keeps the original request (a Redis-stream adapter on that path) for
    # exactly this: signatures are over the bytes PagerDuty sent, not re-encoded JSON.
    original = event._original_request
    return await original.body() if original is not None else None


async def is_verified_delivery(event: WebhookEvent) -> bool:
    """Verified once per delivery; its processors all reuse the verdict."""
    verdicts: dict[str, bool] = event_scoped(VERDICT_KEY, dict)
    if event.trace_id in verdicts:
        return verdicts[event.trace_id]
    verdict = verdicts[event.trace_id] = await verify_delivery(event)
    if not verdict:
        logger.warning(
            "Rejected a webhook delivery that is not signed by PagerDuty for this "
            f"integration (event type '{event_type(event.payload) or 'unknown'}', "
            f"webhook id '{lowercase_keys(event.headers).get(WEBHOOK_ID_HEADER, 'none')}')"
            "; nothing was changed in Port."
        )
    return verdict


async def verify_delivery(event: WebhookEvent) -> bool:
    headers = lowercase_keys(event.headers)
    signature = headers.get(SIGNATURE_HEADER)
    body = await raw_body_of(event)
    if not signature or body is None:
        return False
    config = ocean.integration_config
    secrets = candidate_secrets(headers, config["token"], config.get("webhook_secret"))
    return is_signed_by_any(body, signature, secrets)


class PagerDutyWebhookProcessor(AbstractWebhookProcessor):
    """Base for processors of one PagerDuty event family (e.g. `incident.`)."""

    event_prefix: str
    kind: str

    def handles(self, payload: EventPayload) -> bool:
        return event_type(payload).startswith(self.event_prefix)

    async def should_process_event(self, event: WebhookEvent) -> bool:
        return self.handles(event.payload)

    async def get_matching_kinds(self, event: WebhookEvent) -> list[str]:
        if not await is_verified_delivery(event):
            return []
        webhook_id = lowercase_keys(event.headers).get(WEBHOOK_ID_HEADER)
        if webhook_id and recent_deliveries.is_redelivery(webhook_id, event.trace_id):
            logger.info(f"Ignoring redelivered PagerDuty webhook {webhook_id}")
            return []
        return [self.kind]

    async def authenticate(self, payload: EventPayload, headers: EventHeaders) -> bool:
        return await is_verified_delivery(self.event)

    async def validate_payload(self, payload: EventPayload) -> bool:
        return self.handles(payload) and self.object_id(payload) is not None

    async def current_state(
        self,
        object_id: str,
        variant: tuple[Any, ...],
        fetch: Callable[[], Awaitable[JSON | None]],
        matches: Callable[[JSON], bool],
        gone: JSON,
    ) -> WebhookEventRawResults:
        """The object as a resync of this block would write it, or its removal from
        the block when PagerDuty no longer has it or the block's filters exclude it.

        Blocks asking for the same `variant` (includes and enrichment options)
        share one fetch per delivery."""
        fetches: dict[str, asyncio.Task[JSON | None]] = event_scoped(FETCHES_KEY, dict)
        key = f"{self.kind} {object_id} {variant!r}"
        if key not in fetches:
            fetches[key] = asyncio.ensure_future(fetch())
        current = await asyncio.shield(fetches[key])
        if current is None:
            logger.info(f"PagerDuty no longer has {self.kind} {object_id}")
            return WebhookEventRawResults([], [gone])
        if not matches(current):
            return WebhookEventRawResults([], [current])
        return WebhookEventRawResults([current], [])

    def object_id(self, payload: EventPayload) -> str | None:
        value = event_data(payload).get("id")
        return value if isinstance(value, str) and value else None
