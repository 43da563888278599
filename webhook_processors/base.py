"""What every PagerDuty webhook processor shares: verification, de-duplication,
and reading the V3 event envelope.

Deliveries are only ever used as a signal: the processors fetch the object's
current state from PagerDuty, so a delivery's content never reaches Port and a
late or replayed delivery cannot roll an entity back.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean
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

from block_removal import remove_from_block
from client import JSON
from event_scope import event_scoped
from ocean_seams import original_request
from pagination import for_each_bounded, parse_time
from webhook_processors.coalesce import Fetched, process_coalescer
from webhook_processors.intake import ROUND_CONCURRENCY, process_intake
from webhook_processors.replay import is_too_old, process_seen_events
from webhook_processors.secrets import SigningSecrets, process_signing_secrets
from webhook_processors.signing import (
    SIGNATURE_HEADER,
    configured_secrets,
    is_signed_by_any,
)

WEBHOOK_ID_HEADER = "x-webhook-id"
VERDICT_KEY = "pagerduty.delivery_verified"
SIGHTING_KEY = "pagerduty.delivery_first_sighting"
FETCHES_KEY = "pagerduty.delivery_fetches"

FetchById = Callable[[str], Awaitable[JSON | None]]
Round = list[tuple[str, Fetched]]  # each object a fetch round read, and what it got


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


def event_time(payload: Any) -> datetime | None:
    """When PagerDuty says the event occurred (None if it does not say)."""
    value = event_envelope(payload).get("occurred_at")
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def event_id(payload: Any) -> str:
    value = event_envelope(payload).get("id")
    return value if isinstance(value, str) else ""


def fetch_key(kind: str, object_id: str, variant: tuple[Any, ...]) -> str:
    return f"{kind} {object_id} {variant!r}"


def event_data(payload: Any) -> dict[str, Any]:
    data = event_envelope(payload).get("data")
    return data if isinstance(data, dict) else {}


async def raw_body_of(event: WebhookEvent) -> bytes | None:
    """The bytes PagerDuty sent (its signatures are over them, not re-encoded
    JSON), from the request Ocean keeps (see ocean_seams.py)."""
    original = original_request(event)
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
    secrets = signing_secrets()
    if is_signed_by_any(body, signature, secrets.all()):
        return True
    # Another replica may have replaced the subscription: re-read its secret.
    return await secrets.refresh() and is_signed_by_any(body, signature, secrets.all())


def signing_secrets() -> SigningSecrets:
    configured = configured_secrets(ocean.integration_config.get("webhook_secret"))
    return process_signing_secrets(configured)


async def is_first_sighting(event: WebhookEvent) -> bool:
    """Whether this verified delivery carries an event not processed before."""
    sightings: dict[str, bool] = event_scoped(SIGHTING_KEY, dict)
    if event.trace_id not in sightings:
        sightings[event.trace_id] = await first_sighting(event)
    return sightings[event.trace_id]


async def first_sighting(event: WebhookEvent) -> bool:
    pagerduty_event = event_id(event.payload)
    webhook_id = lowercase_keys(event.headers).get(WEBHOOK_ID_HEADER, "none")
    if not pagerduty_event:
        logger.warning(f"Ignoring webhook {webhook_id}: its event has no id")
        return False
    if is_too_old(event_time(event.payload)):
        logger.warning(
            f"Ignoring PagerDuty event {pagerduty_event} (webhook id {webhook_id}): "
            "it occurred before the replay horizon or has no valid occurred_at"
        )
        return False
    seen = process_seen_events()
    if await seen.first_sighting(pagerduty_event, event.trace_id):
        return True
    logger.info(
        f"Ignoring PagerDuty event {pagerduty_event} (webhook id {webhook_id}): "
        "already processed"
    )
    return False


def nowhere_else(block: ResourceConfig, gone: JSON) -> bool:
    """An object PagerDuty no longer has belongs to no block."""
    return False


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
        object_id = self.object_id(event.payload)
        if object_id is not None:  # its turn, whether or not it is processed
            process_intake().turn_of(self.kind, object_id, event_id(event.payload))
        if not await is_first_sighting(event):
            return []
        return [self.kind]

    async def authenticate(self, payload: EventPayload, headers: EventHeaders) -> bool:
        return await is_verified_delivery(self.event)

    async def validate_payload(self, payload: EventPayload) -> bool:
        return self.handles(payload) and self.object_id(payload) is not None

    async def current_state(
        self,
        block: ResourceConfig,
        object_id: str,
        variant: tuple[Any, ...],
        fetch: FetchById,
        matches: Callable[[JSON], bool],
        gone: JSON,
    ) -> WebhookEventRawResults:
        """The object as a resync of this block would write it, or its removal from
        the block when PagerDuty no longer has it or the block's filters exclude it.

        Blocks asking for the same `variant` (includes and enrichment options)
        share one fetch per delivery, and deliveries share fetches as
        coalesce.py says; a delivery another one's fetch already served
        changes nothing itself. The fetch round also reads the objects of
        deliveries still queued (intake.py) and writes them too.
        """
        round_variant = (self.kind, variant)
        if process_intake().is_covered(round_variant, event_id(self.event.payload)):
            return WebhookEventRawResults([], [])
        rounds: dict[str, asyncio.Task[Round]] = event_scoped(FETCHES_KEY, dict)
        key = fetch_key(self.kind, object_id, variant)
        if key not in rounds:
            rounds[key] = asyncio.ensure_future(
                self.fetch_round(object_id, variant, fetch)
            )
        fetched = await asyncio.shield(rounds[key])
        updated: list[JSON] = []
        excluded: list[JSON] = []
        for fetched_id, found in fetched:
            if found.served:
                continue
            if found.state is None:
                await self.remove_vanished(block, fetched_id, gone)
            else:
                (updated if matches(found.state) else excluded).append(found.state)
        return WebhookEventRawResults(updated, excluded)

    async def fetch_round(
        self,
        object_id: str,
        variant: tuple[Any, ...],
        fetch: FetchById,
    ) -> Round:
        occurred_at = event_time(self.event.payload)
        own = await self.fetch_covering(object_id, variant, fetch, occurred_at)
        fetched: Round = [(object_id, own)]
        if own.served:
            return fetched
        intake = process_intake()
        round_variant = (self.kind, variant)
        along = intake.take_along(self.kind, round_variant, object_id)

        async def read(other_id: str) -> None:
            newest = along[other_id]
            occurred = datetime.fromtimestamp(newest, UTC) if newest else None
            try:
                found = await self.fetch_covering(other_id, variant, fetch, occurred)
            except Exception as error:  # noqa: BLE001 - its own delivery fetches it
                logger.info(f"Left {self.kind} {other_id} to its delivery: {error}")
                return
            finally:
                intake.done(round_variant, other_id)
            if found.served:  # by an earlier fetch, newer than those events
                intake.cover(self.kind, other_id, round_variant)
            else:
                fetched.append((other_id, found))

        if along:
            await for_each_bounded(list(along), read, ROUND_CONCURRENCY)
            logger.info(
                f"One fetch round read {self.kind} {object_id} and "
                f"{len(fetched) - 1} more whose deliveries are queued"
            )
        return fetched

    async def fetch_covering(
        self,
        object_id: str,
        variant: tuple[Any, ...],
        fetch: FetchById,
        occurred_at: datetime | None,
    ) -> Fetched:
        """The object's current state (coalesced), covering the queued deliveries
        about it that arrived before this fetch started."""
        intake = process_intake()
        before = intake.clock()
        key = fetch_key(self.kind, object_id, variant)
        found = await process_coalescer().current(
            key, occurred_at, lambda: fetch(object_id)
        )
        if not found.served:
            intake.cover(
                self.kind, object_id, (self.kind, variant), arrived_before=before
            )
        return found

    async def remove_vanished(
        self, block: ResourceConfig, gone_id: str, gone: JSON
    ) -> None:
        logger.info(f"PagerDuty no longer has {self.kind} {gone_id}")
        # Only the identifier can be mapped from what is left of it; the
        # block's full mapping (relations of assignments...) would fail.
        what = gone if gone.get("id") == gone_id else {"id": gone_id}
        await remove_from_block(block, [what], [], belongs=nowhere_else)

    def object_id(self, payload: EventPayload) -> str | None:
        value = event_data(payload).get("id")
        return value if isinstance(value, str) and value else None
