"""Setting up live updates (webhook_processors/live_updates.py) against the simulator."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.pagerduty import SimConfig, create_app
from sandbox.pagerduty.state import PagerDutySim
from tests.conftest import started_ocean
from webhook_processors import live_updates

TOKEN = "live-updates-token-0123456789"
APP_HOST = "https://ocean.example.com"


@pytest.fixture
async def sim(
    doc_mapping: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[PagerDutySim]:
    monkeypatch.setattr(live_updates, "_last_set_up", None)
    # Deliveries (the start-up ping) go nowhere: no replica listens in this test.
    nowhere = httpx.MockTransport(lambda request: httpx.Response(503))
    app = create_app(
        SimConfig(
            token=TOKEN,
            rate_limit_per_minute=0,
            services=1,
            incidents=1,
            webhook_transport=nowhere,
        )
    )
    config = {"token": TOKEN, "api_url": "http://sim", "app_host": APP_HOST}
    transport = httpx.ASGITransport(app=app)
    async with started_ocean(doc_mapping, pagerduty=transport, config=config):
        yield app.state.sim
        for task in list(live_updates._background):
            task.cancel()


async def test_start_and_the_first_resync_at_once_create_one_subscription(
    sim: PagerDutySim,
) -> None:
    await asyncio.gather(
        live_updates.set_up_live_updates(at_start=True),
        live_updates.set_up_live_updates(at_start=False),
    )
    assert len(sim.subscriptions.items) == 1
    assert sim.counters.by_endpoint["POST /webhook_subscriptions"] == 1


async def test_a_resync_soon_after_a_set_up_does_not_reconcile_again(
    sim: PagerDutySim,
) -> None:
    await live_updates.set_up_live_updates(at_start=True)
    listed = sim.counters.by_endpoint["GET /webhook_subscriptions"]
    await live_updates.set_up_live_updates(at_start=False)
    assert sim.counters.by_endpoint["GET /webhook_subscriptions"] == listed


async def test_a_later_resync_repairs_the_subscription(
    sim: PagerDutySim, monkeypatch: pytest.MonkeyPatch
) -> None:
    await live_updates.set_up_live_updates(at_start=True)
    (subscription,) = sim.subscriptions.items.values()
    sim.subscriptions.disable_temporarily(subscription)
    monkeypatch.setattr(live_updates, "FRESH_SECONDS", 0.0)
    await live_updates.set_up_live_updates(at_start=False)
    assert subscription.deliverable
