"""V3 webhook subscriptions as PagerDuty keeps them.

- The signing secret is shown once, in the creation answer; reads say null.
- Custom header values are write-only: reads show ``-- redacted --``.
- ``delivery_method`` (url, custom headers) is fixed at creation.
- After ``failure_limit`` consecutive rejected deliveries (non-2xx or no
  answer) the delivery method is ``temporarily_disabled``; nothing is sent
  until ``POST /webhook_subscriptions/{id}/enable`` (``active`` is untouched).
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass

from sandbox.pagerduty.store import IdFactory, JsonDict

REDACTED = "-- redacted --"
UPDATABLE_FIELDS = ("description", "events", "filter", "active")


@dataclass
class Subscription:
    data: JsonDict  # real header values; secret always None here
    secret: str
    consecutive_failures: int = 0

    @property
    def subscription_id(self) -> str:
        return str(self.data["id"])

    @property
    def method(self) -> JsonDict:
        method: JsonDict = self.data["delivery_method"]
        return method

    @property
    def deliverable(self) -> bool:
        return bool(self.data["active"]) and not bool(
            self.method["temporarily_disabled"]
        )

    def wants(
        self, event_type: str, service_id: str | None, team_ids: set[str]
    ) -> bool:
        events = self.data["events"]
        if events and event_type not in events:
            return False
        scope = self.data["filter"]
        if scope.get("type") == "service_reference":
            return bool(service_id == scope.get("id"))
        if scope.get("type") == "team_reference":
            return str(scope.get("id")) in team_ids
        return True

    def view(self, with_secret: bool = False) -> JsonDict:
        """What the API shows: header values redacted, the secret only on creation."""
        shown = copy.deepcopy(self.data)
        method = shown["delivery_method"]
        method["custom_headers"] = [
            {"name": header["name"], "value": REDACTED}
            for header in method["custom_headers"]
        ]
        method["secret"] = self.secret if with_secret else None
        return shown


class Subscriptions:
    def __init__(self, ids: IdFactory, failure_limit: int) -> None:
        self.ids = ids
        self.failure_limit = failure_limit
        self.items: dict[str, Subscription] = {}

    def create(self, payload: JsonDict) -> Subscription:
        method = payload["delivery_method"]
        data: JsonDict = {
            "id": self.ids.new(),
            "type": "webhook_subscription",
            "active": bool(payload.get("active", True)),
            "description": str(payload.get("description") or ""),
            "delivery_method": {
                "id": self.ids.new(),
                "type": method.get("type", "http_delivery_method"),
                "url": method["url"],
                "custom_headers": [
                    {"name": str(h.get("name", "")), "value": str(h.get("value", ""))}
                    for h in method.get("custom_headers") or []
                ],
                "secret": None,
                "temporarily_disabled": False,
            },
            "events": list(payload.get("events") or []),
            "filter": dict(payload.get("filter") or {"type": "account_reference"}),
        }
        subscription = Subscription(data, secrets.token_urlsafe(24))
        self.items[subscription.subscription_id] = subscription
        return subscription

    def update(self, subscription: Subscription, payload: JsonDict) -> None:
        for key in UPDATABLE_FIELDS:
            if key in payload:
                subscription.data[key] = payload[key]
        if "oauth_client_id" in payload:
            client_id = payload["oauth_client_id"]
            if client_id is None:
                subscription.data.pop("oauth_client", None)
            else:
                subscription.data["oauth_client"] = {
                    "id": str(client_id),
                    "type": "oauth_client_reference",
                    "summary": "OAuth client",
                }

    def enable(self, subscription: Subscription) -> None:
        subscription.method["temporarily_disabled"] = False
        subscription.consecutive_failures = 0

    def disable_temporarily(self, subscription: Subscription) -> None:
        subscription.method["temporarily_disabled"] = True

    def record_outcome(self, subscription_id: str, accepted: bool) -> None:
        subscription = self.items.get(subscription_id)
        if subscription is None:
            return
        if accepted:
            subscription.consecutive_failures = 0
            return
        subscription.consecutive_failures += 1
        if subscription.consecutive_failures >= max(1, self.failure_limit):
            self.disable_temporarily(subscription)
