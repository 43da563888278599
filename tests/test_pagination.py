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
    PAGES_AHEAD,
    PAGES_IN_FLIGHT,
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
async def test_pages_are_fetched_ahead_of_the_consumer_but_only_a_few() -> None:
    """Fetching overlaps Ocean's mapping of the previous page, and the pages held
    before Ocean takes them stay a few deep (each is ~1 MB for 100 incidents)."""
    consumed = 0
    most_ahead = 0
    ahead_bound = PAGES_AHEAD + PAGES_IN_FLIGHT
    fetched_ahead = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal most_ahead
        offset = int(request.url.params["offset"])
        # Requested and not yet taken, plus the one the consumer is mapping.
        most_ahead = max(most_ahead, offset // 100 + 1 - consumed)
        if most_ahead == 1 + ahead_bound:
            fetched_ahead.set()
        items = [{"id": f"S{offset + i}"} for i in range(100)]
        return httpx.Response(
            200, json={"services": items, "more": True, "total": 2_000}
        )

    route = respx.get(f"{API}/services").mock(side_effect=answer)
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    pages = client.paginate("/services")

    first = await anext(pages)
    # While the consumer "maps" its first page, fetching goes on ahead of it.
    await asyncio.wait_for(fetched_ahead.wait(), timeout=5)
    ids = {item["id"] for item in first}
    async for page in pages:
        consumed += 1
        ids |= {item["id"] for item in page}
        await asyncio.sleep(0)
    assert len(ids) == 2_000
    assert route.call_count == 20
    # Reached, never exceeded: the page being mapped plus those fetched ahead.
    assert most_ahead == 1 + ahead_bound


@respx.mock
async def test_windows_listed_at_once_share_the_same_few_pages_ahead() -> None:
    """A year of incidents is five 90-day windows listed concurrently; their first
    pages count against the same bound as the rest (they were fetched outside it,
    so a larger account held more pages)."""
    requested = 0
    taken = 0
    most_ahead = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal requested, most_ahead
        requested += 1
        most_ahead = max(most_ahead, requested - taken)
        offset = int(request.url.params["offset"])
        since = request.url.params["since"]
        items = [{"id": f"{since}-{offset + i}"} for i in range(100)]
        return httpx.Response(
            200, json={"incidents": items, "more": offset < 200, "total": 300}
        )

    respx.get(f"{API}/incidents").mock(side_effect=answer)
    client = PagerDutyClient(TOKEN, API, http_client=httpx.AsyncClient())
    year = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    ids: set[str] = set()
    async for page in client.paginate_by_created_at("/incidents", {}, year):
        taken += 1
        ids |= {item["id"] for item in page}
        await asyncio.sleep(0)
    assert len(year.chunks()) == 5
    assert len(ids) == 5 * 300
    assert most_ahead <= PAGES_AHEAD + PAGES_IN_FLIGHT


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
