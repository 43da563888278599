"""Sending signed V3 webhook deliveries and keeping a log of every attempt.

Every delivery carries ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256(secret,
raw body)>``, ``X-Webhook-Id`` (fresh per attempt unless given),
``X-Webhook-Subscription``, ``User-Agent: PagerDuty-Webhook/V3.0``,
``Content-Type: application/json`` and the subscription's custom headers with
their real values.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import asdict, dataclass

import httpx

from sandbox.pagerduty.store import JsonDict
from sandbox.pagerduty.subscriptions import Subscription, Subscriptions

USER_AGENT = "PagerDuty-Webhook/V3.0"
DELIVERY_TIMEOUT = 10.0


@dataclass
class Target:
    subscription_id: str
    url: str
    secret: str
    headers: list[JsonDict]

    @classmethod
    def of(cls, subscription: Subscription, secret: str | None = None) -> Target:
        return cls(
            subscription.subscription_id,
            str(subscription.method["url"]),
            subscription.secret if secret is None else secret,
            subscription.method["custom_headers"],
        )


@dataclass
class DeliveryRecord:
    subscription_id: str
    url: str
    event_id: str
    event_type: str
    webhook_id: str
    status_code: int | None
    error: str | None
    at: float
    seconds: float | None = None  # from sending the request to its answer

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secret: str, raw: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def encode(payload: JsonDict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class Deliverer:
    """Posts deliveries, records each attempt and its outcome on the subscription."""

    def __init__(
        self,
        subscriptions: Subscriptions,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.transport = transport
        self.log: list[DeliveryRecord] = []
        self._background: set[asyncio.Task[DeliveryRecord]] = set()
        # One client for every delivery: building one costs ~40 ms of CPU (its
        # TLS context), which at storm rates would make the simulator, not the
        # receiver, the slow side of every delivery.
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport,
                timeout=DELIVERY_TIMEOUT,
                limits=httpx.Limits(max_connections=None),
            )
        return self._client

    async def send(
        self,
        target: Target,
        payload: JsonDict,
        webhook_id: str | None = None,
        signature: str | None = None,
        counts: bool = True,
    ) -> DeliveryRecord:
        """Post one delivery; ``counts``: its outcome counts toward disabling."""
        raw = encode(payload)
        event = payload["event"]
        record = DeliveryRecord(
            subscription_id=target.subscription_id,
            url=target.url,
            event_id=str(event["id"]),
            event_type=str(event["event_type"]),
            webhook_id=webhook_id or str(uuid.uuid4()),
            status_code=None,
            error=None,
            at=time.time(),
        )
        headers = {str(h["name"]): str(h["value"]) for h in target.headers}
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-PagerDuty-Signature": signature or sign(target.secret, raw),
                "X-Webhook-Id": record.webhook_id,
                "X-Webhook-Subscription": target.subscription_id,
            }
        )
        try:
            started = time.perf_counter()
            response = await self.client().post(
                target.url, content=raw, headers=headers
            )
            record.seconds = time.perf_counter() - started
            record.status_code = response.status_code
        except httpx.HTTPError as error:
            record.error = repr(error)
        self.log.append(record)
        if counts:
            self.subscriptions.record_outcome(target.subscription_id, record.accepted)
        return record

    def send_in_background(self, target: Target, payload: JsonDict) -> None:
        task = asyncio.get_running_loop().create_task(self.send(target, payload))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Waits until every delivery sent in the background has been answered."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def snapshot(self) -> JsonDict:
        return {
            "count": len(self.log),
            "deliveries": [
                {**asdict(record), "accepted": record.accepted} for record in self.log
            ],
        }
