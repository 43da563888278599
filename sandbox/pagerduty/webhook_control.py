"""Control API for webhooks: fire events, read the delivery log, disable.

``POST /_sim/webhooks/deliver`` (also ``/_sim/deliver_webhook``) with
``{"event_type", "resource_id", "event_id"?, "occurred_at"?, "webhook_id"?,
"url"?, "subscription_id"?, "secret"?, "signature"?}`` sends the event to every
deliverable subscription that wants it (or, with ``url``, to that URL as the
subscription ``subscription_id``, by default the first active one) and
answers once every delivery was answered, with each one's answer time
(``seconds``). ``occurred_at`` (ISO-8601) backdates the event, for deliveries
that lag the change they report. Deliveries with a forged
``signature`` or an explicit ``url`` are test probes: their outcome does not
count toward temporarily disabling a subscription.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.deliveries import Target
from sandbox.pagerduty.errors import json_response, not_found, read_json
from sandbox.pagerduty.events import webhook_event
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict
from sandbox.pagerduty.subscriptions import Subscription
from sandbox.pagerduty.times import parse_timestamp


async def deliver(sim: PagerDutySim, request: Request) -> Response:
    body = await read_json(request)
    event_type = str(body.get("event_type") or "")
    resource_id = str(body.get("resource_id") or "")
    event_id = str(body.get("event_id") or uuid.uuid4())
    occurred_at = body.get("occurred_at")
    if occurred_at is not None:
        parse_timestamp(str(occurred_at), "occurred_at")
    try:
        payload = webhook_event(
            sim.store,
            event_type,
            resource_id,
            event_id,
            str(occurred_at) if occurred_at is not None else None,
        )
    except KeyError:
        not_found()
    webhook_id = body.get("webhook_id")
    signature = body.get("signature")
    probe = bool(body.get("url") or signature or body.get("subscription_id"))
    deliveries: list[JsonDict] = []
    for target in _targets(sim, body, payload):
        record = await sim.deliverer.send(
            target,
            payload,
            webhook_id=str(webhook_id) if webhook_id else None,
            signature=str(signature) if signature else None,
            counts=not probe,
        )
        deliveries.append(
            {
                "subscription_id": record.subscription_id,
                "url": record.url,
                "webhook_id": record.webhook_id,
                "status_code": record.status_code,
                "error": record.error,
                "seconds": record.seconds,
            }
        )
    return json_response(
        {
            "webhook_id": deliveries[0]["webhook_id"] if deliveries else webhook_id,
            "event_id": event_id,
            "deliveries": deliveries,
            "payload": payload,
        }
    )


def _targets(sim: PagerDutySim, body: JsonDict, payload: JsonDict) -> list[Target]:
    secret = body.get("secret")
    subscriptions = list(sim.subscriptions.items.values())
    if body.get("url"):
        wanted = body.get("subscription_id")
        first = next(
            (
                s
                for s in subscriptions
                if s.data["active"] and wanted in (None, s.subscription_id)
            ),
            None,
        )
        if first is None:
            return [Target("PSIMOVR", str(body["url"]), str(secret or ""), [])]
        target = Target.of(first, None if secret is None else str(secret))
        target.url = str(body["url"])
        return [target]
    event = payload["event"]
    service_id, team_ids = _scope(event)
    return [
        Target.of(subscription, None if secret is None else str(secret))
        for subscription in subscriptions
        if _wants(subscription, event["event_type"], service_id, team_ids)
    ]


def _wants(
    subscription: Subscription, event_type: str, service_id: str | None, teams: set[str]
) -> bool:
    return subscription.deliverable and subscription.wants(
        event_type, service_id, teams
    )


def _scope(event: JsonDict) -> tuple[str | None, set[str]]:
    data = event.get("data") or {}
    if event.get("resource_type") == "service":
        teams = {str(t.get("id")) for t in data.get("teams") or []}
        return str(data.get("id")), teams
    incident = data.get("incident") or data
    service = (incident.get("service") or {}).get("id")
    teams = {str(t.get("id")) for t in incident.get("teams") or []}
    return (str(service) if service else None), teams


async def deliveries(sim: PagerDutySim, request: Request) -> Response:
    return json_response(sim.deliverer.snapshot())


async def reset_deliveries(sim: PagerDutySim, request: Request) -> Response:
    count = len(sim.deliverer.log)
    sim.deliverer.log = []
    return json_response({"cleared": count})


async def temporarily_disable(sim: PagerDutySim, request: Request) -> Response:
    subscription = sim.subscriptions.items.get(request.path_params["id"])
    if subscription is None:
        not_found()
    sim.subscriptions.disable_temporarily(subscription)
    return json_response({"webhook_subscription": subscription.view()})
