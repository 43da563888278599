"""Webhook subscriptions (V3) and signed deliveries, as PagerDuty documents them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

import httpx

from sandbox.pagerduty.subscriptions import REDACTED
from tests.sandbox.pagerduty.helpers import (
    BASE,
    make_receiver,
    response_violations,
    sim_client,
)

HOOK = "http://receiver/hook"


def subscription_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "webhook_subscription",
        "delivery_method": {
            "type": "http_delivery_method",
            "url": HOOK,
            "custom_headers": [{"name": "X-Port-Test", "value": "yes"}],
        },
        "description": "port",
        "events": ["incident.resolved", "incident.annotated", "service.updated"],
        "filter": {"type": "account_reference"},
    }
    body.update(overrides)
    return {"webhook_subscription": body}


def expected_signature(secret: str, raw: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def wait_for_delivery(
    client: httpx.AsyncClient, event_type: str, seconds: float = 5
) -> dict[str, Any]:
    """Positive evidence: the delivery log shows the delivery was answered."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        log = (await client.get("/_sim/deliveries")).json()["deliveries"]
        done = [d for d in log if d["event_type"] == event_type]
        if done:
            return dict(done[-1])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {event_type} delivery within {seconds} s")


async def test_secret_only_on_creation_and_headers_redacted_on_every_read() -> None:
    async with sim_client() as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        assert created.status_code == 200  # the OpenAPI documents 200, not 201
        subscription = created.json()["webhook_subscription"]
        method = subscription["delivery_method"]
        assert method["secret"] and method["temporarily_disabled"] is False
        assert method["custom_headers"] == [{"name": "X-Port-Test", "value": REDACTED}]
        sid = subscription["id"]
        reads = [
            (await client.get(f"/webhook_subscriptions/{sid}")).json()[
                "webhook_subscription"
            ],
            (await client.get("/webhook_subscriptions")).json()[
                "webhook_subscriptions"
            ][0],
            (
                await client.put(
                    f"/webhook_subscriptions/{sid}",
                    json={"webhook_subscription": {"events": ["incident.resolved"]}},
                )
            ).json()["webhook_subscription"],
            (await client.post(f"/webhook_subscriptions/{sid}/enable")).json()[
                "webhook_subscription"
            ],
        ]
        for read in reads:
            assert read["delivery_method"]["secret"] is None
            assert read["delivery_method"]["custom_headers"][0]["value"] == REDACTED
        assert reads[2]["events"] == ["incident.resolved"]
        assert (
            sim.subscriptions.items[sid].method["custom_headers"][0]["value"] == "yes"
        )
        assert (await client.delete(f"/webhook_subscriptions/{sid}")).status_code == 204
        assert (await client.get(f"/webhook_subscriptions/{sid}")).status_code == 404
        assert response_violations(sim) == []


async def test_put_takes_only_the_updatable_fields() -> None:
    async with sim_client() as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        sid = created.json()["webhook_subscription"]["id"]
        update = {
            "description": "renamed",
            "events": ["incident.triggered"],
            "filter": {"type": "account_reference"},
            "active": False,
            "oauth_client_id": "PCLIENT",
        }
        answer = await client.put(
            f"/webhook_subscriptions/{sid}", json={"webhook_subscription": update}
        )
        assert answer.status_code == 200, answer.text
        shown = answer.json()["webhook_subscription"]
        assert (shown["description"], shown["active"]) == ("renamed", False)
        assert shown["oauth_client"]["id"] == "PCLIENT"
        assert sim.violations.items == []


async def test_delivery_method_in_a_put_is_refused_and_recorded() -> None:
    async with sim_client() as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        sid = created.json()["webhook_subscription"]["id"]
        moved = {"delivery_method": {"type": "http_delivery_method", "url": "http://x"}}
        answer = await client.put(
            f"/webhook_subscriptions/{sid}", json={"webhook_subscription": moved}
        )
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert (error["code"], error["message"]) == (2001, "Invalid Input Provided")
        assert "webhook_subscription.delivery_method" in error["errors"][0]
        listed = (await client.get("/_sim/contract/violations")).json()
        assert listed["count"] == 1
        violation = listed["violations"][0]
        assert violation["operation_id"] == "updateWebhookSubscription"
        assert (violation["method"], violation["path"]) == (
            "PUT",
            "/webhook_subscriptions/{id}",
        )
        assert violation["field"] == "webhook_subscription.delivery_method"
        assert violation["direction"] == "request"
        assert sim.subscriptions.items[sid].method["url"] == HOOK  # unchanged
        reset = await client.post("/_sim/contract/violations/reset")
        assert reset.json() == {"cleared": 1}
        assert (await client.get("/_sim/contract/violations")).json()["count"] == 0


async def test_delivery_is_signed_and_shaped_like_pagerduty() -> None:
    receiver, received = make_receiver()
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        created = (
            await client.post("/webhook_subscriptions", json=subscription_body())
        ).json()
        secret = created["webhook_subscription"]["delivery_method"]["secret"]
        subscription_id = created["webhook_subscription"]["id"]
        incident_id = sim.store.incident_order[-1]

        result = (
            await client.post(
                "/_sim/webhooks/deliver",
                json={"event_type": "incident.resolved", "resource_id": incident_id},
            )
        ).json()
        assert [d["status_code"] for d in result["deliveries"]] == [202]
        headers, raw = received[-1]
        assert hmac.compare_digest(
            headers["x-pagerduty-signature"], expected_signature(secret, raw)
        )
        assert headers["x-webhook-id"] == result["webhook_id"]
        assert headers["x-webhook-subscription"] == subscription_id
        assert headers["x-port-test"] == "yes"  # the real value, not the redaction
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"] == "PagerDuty-Webhook/V3.0"
        event = json.loads(raw)["event"]
        assert (event["event_type"], event["resource_type"]) == (
            "incident.resolved",
            "incident",
        )
        assert {"id", "occurred_at", "agent", "client", "data"} <= set(event)
        assert event["data"]["id"] == incident_id

        again = (
            await client.post(
                "/_sim/deliver_webhook",  # the older name still works
                json={"event_type": "incident.annotated", "resource_id": incident_id},
            )
        ).json()
        assert again["webhook_id"] != result["webhook_id"]  # fresh per attempt
        note = json.loads(received[-1][1])["event"]["data"]
        assert note["type"] == "incident_note" and note["incident"]["id"] == incident_id
        chosen = await client.post(
            "/_sim/webhooks/deliver",
            json={
                "event_type": "incident.annotated",
                "resource_id": incident_id,
                "webhook_id": result["webhook_id"],
            },
        )
        assert received[-1][0]["x-webhook-id"] == result["webhook_id"]
        assert chosen.json()["webhook_id"] == result["webhook_id"]

        service_id = next(iter(sim.store.services))
        await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "service.updated", "resource_id": service_id},
        )
        service_event = json.loads(received[-1][1])["event"]
        assert service_event["resource_type"] == "service"
        assert service_event["data"]["id"] == service_id

        filtered = await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "incident.triggered", "resource_id": incident_id},
        )
        assert filtered.json()["deliveries"] == []  # not subscribed to that event
        forged = await client.post(
            "/_sim/webhooks/deliver",
            json={
                "event_type": "incident.resolved",
                "resource_id": incident_id,
                "url": HOOK,
                "signature": "v1=deadbeef",
            },
        )
        assert forged.status_code == 200
        assert received[-1][0]["x-pagerduty-signature"] == "v1=deadbeef"
        missing = await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "incident.resolved", "resource_id": "PNOPE"},
        )
        assert missing.status_code == 404
        log = (await client.get("/_sim/deliveries")).json()
        assert log["count"] == 5
        first = log["deliveries"][0]
        assert first["subscription_id"] == subscription_id and first["url"] == HOOK
        assert (first["event_type"], first["status_code"]) == ("incident.resolved", 202)
        assert first["webhook_id"] == result["webhook_id"] and first["at"] > 0


async def test_repeated_rejections_disable_until_enabled_and_active_is_kept() -> None:
    receiver, received = make_receiver(status=500)
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        sid = created.json()["webhook_subscription"]["id"]
        incident_id = sim.store.incident_order[-1]
        event = {"event_type": "incident.resolved", "resource_id": incident_id}
        for _ in range(3):
            sent = (await client.post("/_sim/webhooks/deliver", json=event)).json()
            assert [d["status_code"] for d in sent["deliveries"]] == [500]
        shown = (await client.get(f"/webhook_subscriptions/{sid}")).json()
        assert shown["webhook_subscription"]["delivery_method"]["temporarily_disabled"]
        assert shown["webhook_subscription"]["active"] is True
        count = len(received)
        skipped = (await client.post("/_sim/webhooks/deliver", json=event)).json()
        assert skipped["deliveries"] == [] and len(received) == count
        ping = await client.post(f"/webhook_subscriptions/{sid}/ping")
        assert ping.status_code == 202
        await sim.deliverer.drain()  # whatever the ping sent has been answered
        assert len(received) == count  # nothing is sent while disabled

        enabled = await client.post(f"/webhook_subscriptions/{sid}/enable")
        assert enabled.status_code == 200
        method = enabled.json()["webhook_subscription"]["delivery_method"]
        assert method["temporarily_disabled"] is False
        assert enabled.json()["webhook_subscription"]["active"] is True
        resumed = (await client.post("/_sim/webhooks/deliver", json=event)).json()
        assert len(resumed["deliveries"]) == 1 and len(received) == count + 1

        await client.put(
            f"/webhook_subscriptions/{sid}",
            json={"webhook_subscription": {"active": False}},
        )
        await client.post(f"/_sim/webhook_subscriptions/{sid}/temporarily_disable")
        again = (await client.post(f"/webhook_subscriptions/{sid}/enable")).json()
        assert again["webhook_subscription"]["active"] is False  # enable keeps active
        assert response_violations(sim) == []


async def test_control_can_disable_a_subscription_temporarily() -> None:
    receiver, received = make_receiver()
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        sid = created.json()["webhook_subscription"]["id"]
        disabled = await client.post(
            f"/_sim/webhook_subscriptions/{sid}/temporarily_disable"
        )
        assert disabled.json()["webhook_subscription"]["delivery_method"][
            "temporarily_disabled"
        ]
        event = {
            "event_type": "incident.resolved",
            "resource_id": sim.store.incident_order[-1],
        }
        assert (await client.post("/_sim/webhooks/deliver", json=event)).json()[
            "deliveries"
        ] == []
        assert received == []
        missing = await client.post(
            "/_sim/webhook_subscriptions/PNOPE/temporarily_disable"
        )
        assert missing.status_code == 404


async def test_ping_answers_202_then_delivers_a_signed_pagey_ping() -> None:
    receiver, received = make_receiver()
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        created = (
            await client.post("/webhook_subscriptions", json=subscription_body())
        ).json()["webhook_subscription"]
        secret = created["delivery_method"]["secret"]
        ping = await client.post(f"/webhook_subscriptions/{created['id']}/ping")
        assert ping.status_code == 202 and ping.content == b""
        delivery = await wait_for_delivery(client, "pagey.ping")
        assert delivery["status_code"] == 202 and delivery["accepted"]
        headers, raw = received[-1]
        assert headers["x-pagerduty-signature"] == expected_signature(secret, raw)
        assert headers["x-webhook-subscription"] == created["id"]
        assert headers["x-webhook-id"] == delivery["webhook_id"]
        assert headers["x-port-test"] == "yes"
        assert headers["user-agent"] == "PagerDuty-Webhook/V3.0"
        event = json.loads(raw)["event"]
        assert event["event_type"] == "pagey.ping"
        assert event["resource_type"] == "pagey"
        assert event["agent"] is None and event["client"] is None
        assert event["data"] == {
            "message": "Hello from your friend Pagey!",
            "type": "ping",
        }
        assert event["id"] == delivery["event_id"] and event["occurred_at"]
        missing = await client.post("/webhook_subscriptions/PNOPE/ping")
        assert missing.status_code == 404
        assert response_violations(sim) == []


async def test_unreachable_receiver_counts_as_a_rejection() -> None:
    async def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    config = replace(BASE, webhook_transport=httpx.MockTransport(refuse))
    async with sim_client(config) as (client, sim):
        created = await client.post("/webhook_subscriptions", json=subscription_body())
        sid = created.json()["webhook_subscription"]["id"]
        event = {
            "event_type": "incident.resolved",
            "resource_id": sim.store.incident_order[-1],
        }
        for _ in range(3):
            sent = (await client.post("/_sim/webhooks/deliver", json=event)).json()
            assert sent["deliveries"][0]["error"]
        assert sim.subscriptions.items[sid].method["temporarily_disabled"]
