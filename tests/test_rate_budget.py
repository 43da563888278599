import asyncio

import httpx

from client import PagerDutyClient, PagerDutyRetryTransport, pagerduty_retry_config
from rate_budget import RateBudget
from sandbox.pagerduty import SimConfig, create_app

TOKEN = "sandbox-token"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_spent_window_waits_for_its_reset() -> None:
    time = FakeTime()
    budget = RateBudget(per_minute=3, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        await budget.acquire()
        budget.release(200, {})
    time.now = 10.0
    await budget.acquire()
    assert time.slept == [50.0]
    assert budget.waits == 1


async def test_headers_correct_the_estimate_and_429_closes_the_window() -> None:
    time = FakeTime()
    budget = RateBudget(per_minute=960, clock=time.clock, sleep=time.sleep)
    await budget.acquire()
    budget.release(
        200,
        {"ratelimit-limit": "100", "ratelimit-remaining": "1", "ratelimit-reset": "30"},
    )
    assert budget.limit == 100 and budget.remaining == 1
    await budget.acquire()
    budget.release(429, {"ratelimit-reset": "12"})
    await budget.acquire()
    assert time.slept == [12.0], "waits exactly until PagerDuty's reset"


def budgeted_sim_client(
    budget: RateBudget, **config: float
) -> tuple[PagerDutyClient, object]:
    app = create_app(SimConfig(services=150, incidents=400, users=150, **config))  # type: ignore[arg-type]
    retry = pagerduty_retry_config()
    retry.base_delay = 0.01
    transport = PagerDutyRetryTransport(
        wrapped_transport=httpx.ASGITransport(app=app),
        budget=budget,
        retry_config=retry,
    )
    http = httpx.AsyncClient(transport=transport)
    return PagerDutyClient(TOKEN, "http://sim", http_client=http), app.state.sim


async def test_concurrent_kinds_share_one_budget_without_a_429_storm() -> None:
    budget = RateBudget(per_minute=960, max_in_flight=6)
    client, sim = budgeted_sim_client(
        budget, rate_limit_per_minute=3, rate_window_seconds=1.0
    )

    async def count(path: str, **params: str) -> int:
        return sum([len(page) async for page in client.paginate(path, params)])

    services, users, incidents = await asyncio.gather(
        count("/services"), count("/users"), count("/incidents", date_range="all")
    )

    assert (services, users, incidents) == (150, 150, 400)
    counters = sim.counters  # type: ignore[attr-defined]
    assert (
        counters.total - counters.by_status[429] == 8
    ), "two pages per kind, four of incidents"
    assert counters.by_status[429] <= 2, f"{counters.by_status[429]} 429s"
    assert budget.waits >= 1, "the window was spent and the budget waited"


async def test_recovers_from_429s_caused_by_another_client() -> None:
    budget = RateBudget(per_minute=960, max_in_flight=4)
    client, sim = budgeted_sim_client(
        budget, rate_limit_per_minute=5, rate_window_seconds=1.0
    )
    for _ in range(5):  # another client on the same token spends this window
        sim.limiter.hit(TOKEN, 5, 1.0)  # type: ignore[attr-defined]
    users = [u async for page in client.paginate("/users") for u in page]
    assert len(users) == 150
    assert sim.counters.by_status[429] >= 1  # type: ignore[attr-defined]
