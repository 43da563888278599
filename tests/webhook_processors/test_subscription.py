import json
from typing import Any

import httpx
import respx

from client import PagerDutyClient
from webhook_processors.signing import SEALED_SECRET_HEADER, unseal_secret
from webhook_processors.subscription import (
    SUBSCRIBED_EVENTS,
    WebhookSubscriptionManager,
)

API = "https://api.pagerduty.com"
TOKEN = "subscription-token-0123456789"
HOST = "https://ocean.example.com"
URL = f"{HOST}/integration/webhook"


def subscription(
    sub_id: str,
    *,
    sealed: bool = True,
    events: list[str] | None = None,
    active: bool = True,
) -> dict[str, Any]:
    headers = (
        [{"name": SEALED_SECRET_HEADER, "value": "-- redacted --"}] if sealed else []
    )
    return {
        "id": sub_id,
        "active": active,
        "events": events if events is not None else SUBSCRIBED_EVENTS,
        "delivery_method": {"url": URL, "custom_headers": headers, "secret": None},
    }


def manager(configured_secret: bool = False) -> WebhookSubscriptionManager:
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    return WebhookSubscriptionManager(client, TOKEN, configured_secret)


def listing(*subs: dict[str, Any]) -> httpx.Response:
    other = {"id": "OTHER", "delivery_method": {"url": "https://elsewhere/hook"}}
    return httpx.Response(
        200, json={"webhook_subscriptions": [other, *subs], "more": False}
    )


@respx.mock
async def test_creates_one_subscription_and_seals_its_secret() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(return_value=listing())
    create = respx.post(f"{API}/webhook_subscriptions").respond(
        201,
        json={
            "webhook_subscription": {
                "id": "NEW",
                "delivery_method": {"url": URL, "secret": "signing-secret"},
            }
        },
    )
    seal = respx.put(f"{API}/webhook_subscriptions/NEW").respond(json={})

    outcome = await manager().ensure(HOST)

    assert outcome.startswith("created webhook subscription NEW")
    sent = json.loads(create.calls.last.request.content)["webhook_subscription"]
    assert sent["delivery_method"]["url"] == URL
    assert sent["events"] == SUBSCRIBED_EVENTS
    assert (
        "incident.annotated" in sent["events"] and "service.deleted" in sent["events"]
    )
    headers = json.loads(seal.calls.last.request.content)["webhook_subscription"][
        "delivery_method"
    ]["custom_headers"]
    (header,) = headers
    assert header["name"] == SEALED_SECRET_HEADER
    assert unseal_secret(header["value"], TOKEN) == "signing-secret"


@respx.mock
async def test_a_current_subscription_is_left_alone() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("S1"))
    )
    outcome = await manager().ensure(HOST)
    assert outcome == f"webhook subscription S1 to {URL} is up to date"
    assert len(respx.calls) == 1


@respx.mock
async def test_disabled_or_outdated_subscription_is_repaired() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(
            subscription("S1", events=["incident.triggered"], active=False)
        )
    )
    update = respx.put(f"{API}/webhook_subscriptions/S1").respond(json={})
    await manager().ensure(HOST)
    body = json.loads(update.calls.last.request.content)["webhook_subscription"]
    assert body["events"] == SUBSCRIBED_EVENTS and body["active"] is True


@respx.mock
async def test_duplicates_and_unverifiable_ones_are_removed() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(
            subscription("S2"), subscription("S1"), subscription("S0", sealed=False)
        )
    )
    deletes = respx.delete(url__regex=rf"{API}/webhook_subscriptions/S\d").respond(204)
    await manager().ensure(HOST)
    deleted = sorted(call.request.url.path.rsplit("/", 1)[1] for call in deletes.calls)
    assert deleted == ["S0", "S2"]


@respx.mock
async def test_hand_made_subscription_is_kept_when_its_secret_is_configured() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("S0", sealed=False))
    )
    outcome = await manager(configured_secret=True).ensure(HOST)
    assert "S0" in outcome and "up to date" in outcome
