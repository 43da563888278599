"""Notes each signed delivery in the intake (intake.py) as it arrives, before
Ocean queues it.

A pure ASGI middleware on Ocean's FastAPI app: it reads the request body of
POSTs to the webhook route, hands the same bytes on to Ocean unchanged, and
notes the delivery only when one of the signatures this process knows matches
(no secret re-read here: an unknown signature is left to the processors).
"""

import json

from loguru import logger
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from integration import ObjectKind
from live_events_redis import redis_url_of_live_events
from webhook_processors.base import event_id, event_time, signing_secrets
from webhook_processors.incidents import incident_id_of
from webhook_processors.intake import process_intake
from webhook_processors.signing import SIGNATURE_HEADER, is_signed_by_any
from webhook_processors.subscription import WEBHOOK_PATH

ROUTE_SUFFIX = f"/integration{WEBHOOK_PATH}"


class DeliveryIntakeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Built with Ocean's app, configuration read: decided once, not per request.
        self.local_queue = not redis_url_of_live_events()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.local_queue and is_delivery(scope)):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in messages)
        try:
            note_delivery(body, Headers(scope=scope).get(SIGNATURE_HEADER))
        except Exception as error:  # noqa: BLE001 - never in the way of Ocean
            logger.debug(f"Delivery not noted for fetch rounds: {error}")

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def is_delivery(scope: Scope) -> bool:
    return (
        scope.get("type") == "http"
        and scope.get("method") == "POST"
        and str(scope.get("path", "")).endswith(ROUTE_SUFFIX)
    )


def note_delivery(body: bytes, signature: str | None) -> None:
    if not signature or not is_signed_by_any(body, signature, signing_secrets().all()):
        return
    payload = json.loads(body)
    pagerduty_event = event_id(payload)
    incident_id = incident_id_of(payload)
    if pagerduty_event and incident_id is not None:
        occurred_at = event_time(payload)
        moment = occurred_at.timestamp() if occurred_at else None
        process_intake().note(
            ObjectKind.INCIDENTS, incident_id, pagerduty_event, moment
        )
