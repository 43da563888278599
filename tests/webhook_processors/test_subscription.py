import json
from typing import Any

import httpx
import respx

from client import PagerDutyClient
from webhook_processors.signing import seal_in, seal_secret, unseal_secret, with_seal
from webhook_processors.subscription import (
    DESCRIPTION,
    SUBSCRIBED_EVENTS,
    WebhookSubscriptionManager,
)

API = "https://api.pagerduty.com"
TOKEN = "subscription-token-0123456789"
URL = "https://ocean.example.com/integration/webhook"


def subscription(
    sub_id: str,
    *,
    sealed_with: str | None = TOKEN,
    events: list[str] | None = None,
    active: bool = True,
    temporarily_disabled: bool = False,
) -> dict[str, Any]:
    description = DESCRIPTION
    if sealed_with:
        sealed = seal_secret(f"secret-of-{sub_id}", sealed_with, sub_id, URL)
        description = with_seal(DESCRIPTION, sealed)
    return {
        "id": sub_id,
        "type": "webhook_subscription",
        "active": active,
        "description": description,
        "events": events if events is not None else SUBSCRIBED_EVENTS,
        "filter": {"type": "account_reference"},
        "delivery_method": {
            "type": "http_delivery_method",
            "url": URL,
            "custom_headers": [],
            "secret": None,
            "temporarily_disabled": temporarily_disabled,
        },
    }


def manager(adopt_unsealed: bool = False) -> WebhookSubscriptionManager:
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    return WebhookSubscriptionManager(client, TOKEN, adopt_unsealed)


def listing(*subs: dict[str, Any]) -> httpx.Response:
    other = {"id": "OTHER", "delivery_method": {"url": "https://elsewhere/hook"}}
    return httpx.Response(
        200, json={"webhook_subscriptions": [other, *subs], "more": False}
    )


def created(sub_id: str) -> httpx.Response:
    body = subscription(sub_id, sealed_with=None)
    body["delivery_method"]["secret"] = f"secret-of-{sub_id}"
    return httpx.Response(201, json={"webhook_subscription": body})


def body_of(route: respx.Route) -> dict[str, Any]:
    sent: dict[str, dict[str, Any]] = json.loads(route.calls.last.request.content)
    return sent["webhook_subscription"]


@respx.mock
async def test_creates_one_subscription_and_seals_its_secret_in_the_description() -> (
    None
):
    respx.get(f"{API}/webhook_subscriptions").mock(return_value=listing())
    create = respx.post(f"{API}/webhook_subscriptions").mock(
        return_value=created("NEW")
    )
    seal = respx.put(f"{API}/webhook_subscriptions/NEW").respond(json={})

    result = await manager().reconcile(URL)

    assert result.outcome.startswith("created webhook subscription NEW")
    assert result.secret == "secret-of-NEW" and result.changed
    sent = body_of(create)
    assert sent["delivery_method"] == {"type": "http_delivery_method", "url": URL}
    assert sent["events"] == SUBSCRIBED_EVENTS
    update = body_of(seal)
    assert set(update) == {"description"}, "a PUT may not touch delivery_method"
    sealed = seal_in(update["description"])
    assert sealed and unseal_secret(sealed, TOKEN, "NEW", URL) == "secret-of-NEW"


@respx.mock
async def test_a_current_subscription_is_left_alone_and_its_secret_recovered() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("S1"))
    )
    result = await manager().reconcile(URL)
    assert result.outcome == f"webhook subscription S1 to {URL} is up to date"
    assert result.secret == "secret-of-S1" and not result.changed
    assert len(respx.calls) == 1


@respx.mock
async def test_inactive_or_outdated_subscription_is_repaired_in_place() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(
            subscription("S1", events=["incident.triggered"], active=False)
        )
    )
    update = respx.put(f"{API}/webhook_subscriptions/S1").respond(json={})
    result = await manager().reconcile(URL)
    assert body_of(update) == {"events": SUBSCRIBED_EVENTS, "active": True}
    assert result.secret == "secret-of-S1" and result.changed


@respx.mock
async def test_temporarily_disabled_subscription_is_re_enabled() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("S1", temporarily_disabled=True))
    )
    enable = respx.post(f"{API}/webhook_subscriptions/S1/enable").respond(json={})
    result = await manager().reconcile(URL)
    assert enable.called and enable.calls.last.request.content == b""
    assert (
        "re-enabled" in result.outcome and "deliveries were failing" in result.outcome
    )


@respx.mock
async def test_after_a_token_rotation_the_new_one_is_created_before_the_old_is_deleted() -> (
    None
):
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("OLD", sealed_with="the-previous-token-000"))
    )
    create = respx.post(f"{API}/webhook_subscriptions").mock(
        return_value=created("NEW")
    )
    respx.put(f"{API}/webhook_subscriptions/NEW").respond(json={})
    delete = respx.delete(f"{API}/webhook_subscriptions/OLD").respond(204)

    result = await manager().reconcile(URL)

    order = [(c.request.method, c.request.url.path) for c in respx.calls]
    assert order.index(("POST", "/webhook_subscriptions")) < order.index(
        ("DELETE", "/webhook_subscriptions/OLD")
    )
    assert create.called and delete.called
    assert result.subscription_id == "NEW" and result.secret == "secret-of-NEW"
    assert "replaced 1" in result.outcome


@respx.mock
async def test_duplicates_are_removed_keeping_the_first_recoverable_one() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(
            subscription("S2"), subscription("S1"), subscription("S0", sealed_with=None)
        )
    )
    deletes = respx.delete(url__regex=rf"{API}/webhook_subscriptions/S\d").respond(204)
    result = await manager().reconcile(URL)
    deleted = sorted(call.request.url.path.rsplit("/", 1)[1] for call in deletes.calls)
    assert deleted == ["S0", "S2"] and result.subscription_id == "S1"


@respx.mock
async def test_hand_made_subscription_is_adopted_when_webhook_secret_is_set() -> None:
    respx.get(f"{API}/webhook_subscriptions").mock(
        return_value=listing(subscription("S0", sealed_with=None))
    )
    result = await manager(adopt_unsealed=True).reconcile(URL)
    assert "S0" in result.outcome and "up to date" in result.outcome
    assert result.secret is None, "verified by webhookSecret"
