"""Keeps exactly one PagerDuty V3 webhook subscription per installation URL, and
recovers its signing secret (see signing.py for how it is sealed).

Within PagerDuty's rules: `delivery_method` is fixed at creation, the secret is
returned only by the create call, and `description`, `events`, `filter` and
`active` may be updated later. A subscription whose secret this installation
cannot recover (another token, a damaged description) is replaced: the new one
is created before the old one is deleted, so no event goes undelivered.
"""

from dataclasses import dataclass
from typing import Any

from client import JSON, PagerDutyClient
from webhook_processors.incidents import INCIDENT_EVENTS
from webhook_processors.services import SERVICE_EVENTS
from webhook_processors.signing import (
    seal_in,
    seal_secret,
    unseal_secret,
    with_seal,
    without_seal,
)

WEBHOOK_PATH = "/webhook"
SUBSCRIBED_EVENTS = sorted(INCIDENT_EVENTS + SERVICE_EVENTS)
DESCRIPTION = "Port Ocean PagerDuty integration: live updates of the software catalog"


def webhook_url(app_host: str) -> str:
    return f"{app_host.rstrip('/')}/integration{WEBHOOK_PATH}"


def delivery_url(subscription: JSON) -> str | None:
    url = (subscription.get("delivery_method") or {}).get("url")
    return url if isinstance(url, str) else None


def is_temporarily_disabled(subscription: JSON) -> bool:
    method = subscription.get("delivery_method") or {}
    return bool(method.get("temporarily_disabled"))


@dataclass
class Reconciled:
    """What `reconcile` found or made."""

    subscription_id: str
    secret: str | None
    outcome: str
    changed: bool


class WebhookSubscriptionManager:
    def __init__(
        self, client: PagerDutyClient, token: str, adopt_unsealed: bool = False
    ) -> None:
        self.client = client
        self.token = token
        # With webhookSecret set, a subscription to our URL without our seal is
        # taken to be the hand-made one that secret verifies.
        self.adopt_unsealed = adopt_unsealed

    async def recover_secret(self, url: str) -> str | None:
        """The signing secret of our subscription to `url`, from one read."""
        for subscription in sorted(await self.subscriptions_to(url), key=by_id):
            if secret := self.unseal(subscription, url):
                return secret
        return None

    async def reconcile(self, url: str) -> Reconciled:
        """Creates, repairs, re-enables or replaces the subscription to `url`."""
        ours = sorted(await self.subscriptions_to(url), key=by_id)
        recovered = [(s, self.unseal(s, url)) for s in ours]
        usable: list[tuple[JSON, str | None]] = [
            (s, secret) for s, secret in recovered if secret
        ]
        if not usable and self.adopt_unsealed and ours:
            usable = [(ours[0], None)]
        if not usable:
            return await self._replace(url, ours)
        keep, secret = usable[0]
        repairs = await self._repair(keep)
        removed = await self._delete_all(s for s in ours if s is not keep)
        parts = repairs + ([f"deleted {removed} duplicate(s)"] if removed else [])
        outcome = (
            f"webhook subscription {keep['id']} to {url}: " + "; ".join(parts)
            if parts
            else f"webhook subscription {keep['id']} to {url} is up to date"
        )
        return Reconciled(str(keep["id"]), secret, outcome, bool(parts))

    async def ping(self, subscription_id: str) -> None:
        await self.client.request(
            "POST", f"/webhook_subscriptions/{subscription_id}/ping"
        )

    async def subscriptions_to(self, url: str) -> list[JSON]:
        found: list[JSON] = []
        async for page in self.client.paginate("/webhook_subscriptions"):
            found.extend(s for s in page if delivery_url(s) == url)
        return found

    def unseal(self, subscription: JSON, url: str) -> str | None:
        sealed = seal_in(str(subscription.get("description") or ""))
        if sealed is None:
            return None
        return unseal_secret(sealed, self.token, str(subscription["id"]), url)

    async def _replace(self, url: str, unusable: list[JSON]) -> Reconciled:
        subscription_id, secret = await self._create(url)
        removed = await self._delete_all(unusable)
        if removed:
            outcome = (
                f"replaced {removed} webhook subscription(s) to {url} whose signing "
                f"secret this installation cannot recover (token rotated or "
                f"description altered) with {subscription_id}, created before the "
                "old one(s) were deleted"
            )
        else:
            outcome = f"created webhook subscription {subscription_id} to {url}"
        return Reconciled(subscription_id, secret, outcome, True)

    async def _create(self, url: str) -> tuple[str, str]:
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
        subscription_id = str(created["id"])
        secret = str(created["delivery_method"]["secret"])
        sealed = seal_secret(secret, self.token, subscription_id, url)
        await self._update(
            subscription_id, {"description": with_seal(DESCRIPTION, sealed)}
        )
        return subscription_id, secret

    async def _repair(self, subscription: JSON) -> list[str]:
        done: list[str] = []
        drift = self._drift(subscription)
        if drift:
            await self._update(str(subscription["id"]), drift)
            done.append(f"repaired {', '.join(sorted(drift))}")
        if is_temporarily_disabled(subscription):
            await self.client.request(
                "POST", f"/webhook_subscriptions/{subscription['id']}/enable"
            )
            done.append(
                "re-enabled it: PagerDuty had temporarily disabled it because "
                "deliveries were failing (check that appHost is reachable from "
                "PagerDuty and that replicas share the same token)"
            )
        return done

    @staticmethod
    def _drift(subscription: JSON) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if sorted(subscription.get("events") or []) != SUBSCRIBED_EVENTS:
            changes["events"] = SUBSCRIBED_EVENTS
        if not subscription.get("active"):
            changes["active"] = True
        description = str(subscription.get("description") or "")
        if without_seal(description) != DESCRIPTION:
            sealed = seal_in(description)
            changes["description"] = (
                with_seal(DESCRIPTION, sealed) if sealed else DESCRIPTION
            )
        return changes

    async def _update(self, subscription_id: str, changes: dict[str, Any]) -> None:
        await self.client.request(
            "PUT",
            f"/webhook_subscriptions/{subscription_id}",
            json={"webhook_subscription": changes},
        )

    async def _delete_all(self, subscriptions: Any) -> int:
        count = 0
        for subscription in subscriptions:
            await self.client.request(
                "DELETE", f"/webhook_subscriptions/{subscription['id']}"
            )
            count += 1
        return count


def by_id(subscription: JSON) -> str:
    return str(subscription.get("id"))
