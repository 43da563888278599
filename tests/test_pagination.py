"""Pagination against the PagerDuty simulator (in process) and respx edge cases."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import respx

from client import PagerDutyClient
from pagination import (
    ALL_TIME,
    OFFSET_CAP,
    ListingTooLargeError,
    PageSink,
    Window,
    stream_pages,
)
from sandbox.pagerduty import SimConfig, create_app

API = "https://api.pagerduty.com"
TOKEN = "sandbox-token"


def sim_client(incidents: int, services: int) -> tuple[PagerDutyClient, object]:
    config = SimConfig(rate_limit_per_minute=0, incidents=incidents, services=services)
    app = create_app(config)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    )
    return PagerDutyClient(TOKEN, "http://sim", http_client=http), app.state.sim


async def collect(pages: AsyncIterator[list[dict[str, object]]]) -> list[str]:
    return [str(item["id"]) async for page in pages for item in page]


async def test_all_time_listing_past_the_cap_is_complete_and_frugal() -> None:
    client, sim = sim_client(incidents=25_000, services=40)
    ids = await collect(client.paginate_by_created_at("/incidents", {}, ALL_TIME))

    assert len(ids) == 25_000
    assert set(ids) == set(sim.store.incidents)  # type: ignore[attr-defined]
    requests = sim.counters.total  # type: ignore[attr-defined]
    minimal = 25_000 // 100
    assert requests <= minimal * 1.1, f"{requests} requests for {minimal} pages"


async def test_window_listing_matches_the_window_only() -> None:
    client, sim = sim_client(incidents=3_000, services=10)
    now = datetime.now(UTC)
    window = Window(
        datetime(now.year - 1, 1, 1, tzinfo=UTC), datetime(now.year, 1, 1, tzinfo=UTC)
    )
    ids = await collect(client.paginate_by_created_at("/incidents", {}, window))
    expected = {
        incident["id"]
        for incident in sim.store.incidents.values()  # type: ignore[attr-defined]
        if window.since
        <= datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00"))
        < window.until
    }
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


@respx.mock
async def test_a_window_that_cannot_be_split_fails_loudly() -> None:
    burst = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)

    def answer(request: httpx.Request) -> httpx.Response:
        since = datetime.fromisoformat(
            request.url.params["since"].replace("Z", "+00:00")
        )
        until = datetime.fromisoformat(
            request.url.params["until"].replace("Z", "+00:00")
        )
        crowded = since <= burst < until
        total = 20_000 if crowded else 0
        items = [{"id": "X"}] * 100 if crowded else []
        return httpx.Response(
            200, json={"incidents": items, "more": crowded, "total": total}
        )

    route = respx.get(f"{API}/incidents").mock(side_effect=answer)
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    window = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))

    with pytest.raises(ListingTooLargeError, match="too short to split"):
        await collect(client.paginate_by_created_at("/incidents", {}, window))
    assert route.call_count < 100, "bisection follows the crowded half only"


@respx.mock
async def test_over_the_cap_without_time_filter_fails_instead_of_truncating() -> None:
    respx.get(f"{API}/users").respond(
        json={"users": [{"id": "U"}] * 100, "more": True, "total": OFFSET_CAP + 1}
    )
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    with pytest.raises(ListingTooLargeError, match="10000"):
        await collect(client.paginate("/users"))


@respx.mock
async def test_pages_after_the_first_are_fetched_concurrently_ahead_of_the_consumer() -> (
    None
):
    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        items = [{"id": f"S{offset + i}"} for i in range(100)]
        return httpx.Response(
            200, json={"services": items, "more": True, "total": 1_000}
        )

    route = respx.get(f"{API}/services").mock(side_effect=answer)
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    pages = client.paginate("/services")

    first = await anext(pages)
    await asyncio.sleep(0.05)  # the consumer "maps" its batch; fetching goes on
    assert len(first) == 100
    assert route.call_count >= 5
    rest = [page async for page in pages]
    ids = {item["id"] for page in [first, *rest] for item in page}
    assert len(ids) == 1_000
    assert route.call_count == 10


async def test_an_error_while_fetching_reaches_the_consumer() -> None:
    async def produce(put: PageSink) -> None:
        await put([{"id": "1"}])
        raise RuntimeError("PagerDuty went away")

    stream = stream_pages(produce)
    assert await anext(stream) == [{"id": "1"}]
    with pytest.raises(RuntimeError, match="went away"):
        await anext(stream)


async def test_nested_listings_do_not_starve_each_other() -> None:
    """On-calls listed while the services stream waits for its consumer must get
    their own slots (this deadlocked when all streams shared them)."""
    app = create_app(SimConfig(rate_limit_per_minute=0, services=1_500, incidents=10))
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    )
    client = PagerDutyClient(TOKEN, "http://sim", http_client=http)

    async def services_with_oncalls() -> int:
        count = 0
        async for page in client.paginate("/services"):
            policies = [s["escalation_policy"]["id"] for s in page]
            oncalls = await client.oncalls_by_escalation_policy(policies)
            assert all(oncalls[p] for p in policies)
            count += len(page)
        return count

    assert await asyncio.wait_for(services_with_oncalls(), timeout=60) == 1_500
    assert app.state.sim.counters.by_endpoint["GET /oncalls"] > 15
