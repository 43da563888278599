"""Makes sure exactly one PagerDuty V3 webhook subscription feeds this integration."""

from typing import Any

from loguru import logger

from client import JSON, PagerDutyClient
from webhook_processors.incidents import INCIDENT_EVENTS
from webhook_processors.services import SERVICE_EVENTS
from webhook_processors.signing import SEALED_SECRET_HEADER, seal_secret

WEBHOOK_PATH = "/webhook"
SUBSCRIBED_EVENTS = sorted(INCIDENT_EVENTS + SERVICE_EVENTS)
DESCRIPTION = "Port Ocean PagerDuty integration: live updates of the software catalog"


def webhook_url(app_host: str) -> str:
    return f"{app_host.rstrip('/')}/integration{WEBHOOK_PATH}"


def delivery_url(subscription: JSON) -> str | None:
    url = (subscription.get("delivery_method") or {}).get("url")
    return url if isinstance(url, str) else None


def carries_sealed_secret(subscription: JSON) -> bool:
    headers = (subscription.get("delivery_method") or {}).get("custom_headers") or []
    return any(
        str(header.get("name", "")).lower() == SEALED_SECRET_HEADER.lower()
        for header in headers
    )


class WebhookSubscriptionManager:
    def __init__(
        self, client: PagerDutyClient, token: str, has_configured_secret: bool
    ) -> None:
        self.client = client
        self.token = token
        self.has_configured_secret = has_configured_secret

    async def ensure(self, app_host: str) -> str:
        """Creates, repairs or keeps the subscription; returns what it did."""
        url = webhook_url(app_host)
        ours = sorted(await self._subscriptions_to(url), key=lambda s: str(s["id"]))
        verifiable = [s for s in ours if self._can_verify(s)]
        keep = verifiable[0] if verifiable else None
        for extra in (s for s in ours if s is not keep):
            await self.client.request("DELETE", f"/webhook_subscriptions/{extra['id']}")
            logger.info(
                f"Deleted webhook subscription {extra['id']} to {url}: "
                + ("a duplicate" if keep else "its deliveries could not be verified")
            )
        if keep is None:
            created = await self._create(url)
            return f"created webhook subscription {created} to {url}"
        if self._is_current(keep):
            return f"webhook subscription {keep['id']} to {url} is up to date"
        await self._update(keep)
        return f"updated webhook subscription {keep['id']} to {url} (events/enabled)"

    async def _subscriptions_to(self, url: str) -> list[JSON]:
        found: list[JSON] = []
        async for page in self.client.paginate("/webhook_subscriptions"):
            found.extend(s for s in page if delivery_url(s) == url)
        return found

    def _can_verify(self, subscription: JSON) -> bool:
        return carries_sealed_secret(subscription) or self.has_configured_secret

    @staticmethod
    def _is_current(subscription: JSON) -> bool:
        events = sorted(subscription.get("events") or [])
        return bool(subscription.get("active")) and events == SUBSCRIBED_EVENTS

    async def _create(self, url: str) -> str:
        body: dict[str, Any] = {
            "webhook_subscription": {
                "type": "webhook_subscription",
                "description": DESCRIPTION,
                "events": SUBSCRIBED_EVENTS,
                "filter": {"type": "account_reference"},
                "delivery_method": {"type": "http_delivery_method", "url": url},
            }
        }
        response = await self.client.request(
            "POST", "/webhook_subscriptions", json=body
        )
        created = response["webhook_subscription"]
        secret = created["delivery_method"]["secret"]
        sealed_header = {
            "name": SEALED_SECRET_HEADER,
            "value": seal_secret(secret, self.token),
        }
        await self.client.request(
            "PUT",
            f"/webhook_subscriptions/{created['id']}",
            json={
                "webhook_subscription": {
                    "delivery_method": {
                        "type": "http_delivery_method",
                        "url": url,
                        "custom_headers": [sealed_header],
                    }
                }
            },
        )
        return str(created["id"])

    async def _update(self, subscription: JSON) -> None:
        await self.client.request(
            "PUT",
            f"/webhook_subscriptions/{subscription['id']}",
            json={
                "webhook_subscription": {
                    "events": SUBSCRIBED_EVENTS,
                    "active": True,
                    "description": DESCRIPTION,
                }
            },
        )
