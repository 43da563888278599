"""``/webhook_subscriptions``: the V3 subscription API (see ``subscriptions``)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.deliveries import Target
from sandbox.pagerduty.errors import (
    empty_response,
    invalid_input,
    json_response,
    not_found,
    read_json,
)
from sandbox.pagerduty.events import ping_event
from sandbox.pagerduty.paging import paginate, parse_page
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.subscriptions import Subscription

FILTER_TYPES = {
    "account": "account_reference",
    "service": "service_reference",
    "team": "team_reference",
}


def find(sim: PagerDutySim, request: Request) -> Subscription:
    subscription = sim.subscriptions.items.get(request.path_params["id"])
    if subscription is None:
        not_found()
    return subscription


async def list_subscriptions(sim: PagerDutySim, request: Request) -> Response:
    params = request.query_params
    items = list(sim.subscriptions.items.values())
    if params.get("filter_type"):
        wanted = FILTER_TYPES[params["filter_type"]]
        items = [s for s in items if s.data["filter"].get("type") == wanted]
    if params.get("filter_id"):
        items = [s for s in items if s.data["filter"].get("id") == params["filter_id"]]
    return json_response(
        paginate("webhook_subscriptions", items, parse_page(params), lambda s: s.view())
    )


async def create_subscription(sim: PagerDutySim, request: Request) -> Response:
    payload = (await read_json(request)).get("webhook_subscription")
    if not isinstance(payload, dict):
        invalid_input("webhook_subscription is required")
    if not (payload.get("delivery_method") or {}).get("url"):
        invalid_input("delivery_method.url is required")
    subscription = sim.subscriptions.create(payload)
    # The one answer that shows the signing secret.
    return json_response({"webhook_subscription": subscription.view(with_secret=True)})


async def get_subscription(sim: PagerDutySim, request: Request) -> Response:
    return json_response({"webhook_subscription": find(sim, request).view()})


async def update_subscription(sim: PagerDutySim, request: Request) -> Response:
    subscription = find(sim, request)
    payload = (await read_json(request)).get("webhook_subscription") or {}
    if "delivery_method" in payload:
        invalid_input("webhook_subscription.delivery_method cannot be updated")
    sim.subscriptions.update(subscription, payload)
    return json_response({"webhook_subscription": subscription.view()})


async def delete_subscription(sim: PagerDutySim, request: Request) -> Response:
    subscription = find(sim, request)
    del sim.subscriptions.items[subscription.subscription_id]
    return empty_response(204)


async def enable_subscription(sim: PagerDutySim, request: Request) -> Response:
    subscription = find(sim, request)
    sim.subscriptions.enable(subscription)
    return json_response({"webhook_subscription": subscription.view()})


async def ping_subscription(sim: PagerDutySim, request: Request) -> Response:
    """202 now; the signed ``pagey.ping`` delivery follows in the background."""
    subscription = find(sim, request)
    if subscription.deliverable:
        payload = ping_event(sim.store, str(uuid.uuid4()))
        sim.deliverer.send_in_background(Target.of(subscription), payload)
    return empty_response(202)
