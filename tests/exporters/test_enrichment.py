from typing import Any

import httpx
import pytest
import respx
from port_ocean.context.event import EventType, event_context

from client import PagerDutyClient, PagerDutyRetryTransport, pagerduty_retry_config
from exporters.catalog import ScheduleExporter, TeamExporter
from exporters.services import ServiceExporter
from integration import ScheduleSelector, ServiceSelector, TeamSelector
from rate_budget import RateBudget

API = "https://api.pagerduty.com"
USERS = [
    {"id": "U1", "email": "ann@example.com", "name": "Ann", "teams": [{"id": "T1"}]},
    {"id": "U2", "email": "bob@example.com", "name": "Bob", "teams": []},
]


def client() -> PagerDutyClient:
    retry = pagerduty_retry_config()
    retry.base_delay = 0.001
    transport = PagerDutyRetryTransport(
        wrapped_transport=httpx.AsyncHTTPTransport(),
        budget=RateBudget(),
        retry_config=retry,
    )
    return PagerDutyClient(
        "t" * 20, API, http_client=httpx.AsyncClient(transport=transport)
    )


def schedule_page(offset: int) -> dict[str, Any]:
    schedules = [{"id": f"S{offset}", "users": [{"id": "U1"}, {"id": "U2"}]}]
    return {"schedules": schedules, "more": offset < 2, "total": None}


@respx.mock
async def test_schedule_users_get_emails_from_one_users_listing() -> None:
    respx.get(f"{API}/schedules").mock(
        side_effect=lambda r: httpx.Response(
            200, json=schedule_page(int(r.url.params["offset"]) // 1)
        )
    )
    users = respx.get(f"{API}/users").respond(json={"users": USERS, "more": False})
    respx.get(f"{API}/teams").respond(json={"teams": [{"id": "T1"}], "more": False})
    pd = client()

    async with event_context(EventType.RESYNC, trigger_type="machine"):
        pages = [
            p async for p in ScheduleExporter(pd).pages(ScheduleSelector(query="true"))
        ]
        teams = [p async for p in TeamExporter(pd).pages(TeamSelector(query="true"))]

    emails = [[u["__email"] for u in s["users"]] for page in pages for s in page]
    assert emails and all(e == ["ann@example.com", "bob@example.com"] for e in emails)
    assert teams[0][0]["__members"][0]["email"] == "ann@example.com"
    assert users.call_count == 1, "one users listing per resync, whatever asks"


@respx.mock
async def test_spent_analytics_quota_degrades_to_null_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        services = [
            {"id": f"S{offset + i}", "escalation_policy": None} for i in range(100)
        ]
        return httpx.Response(
            200, json={"services": services, "more": offset == 0, "total": 200}
        )

    respx.get(f"{API}/services").mock(side_effect=page)
    analytics = respx.post(f"{API}/analytics/metrics/incidents/services").respond(
        429,
        json={"error": {"message": "Daily limit", "code": 2020}},
        headers={"daily-ratelimit-remaining": "0", "ratelimit-reset": "30"},
    )
    warnings: list[str] = []
    from loguru import logger

    sink = logger.add(lambda m: warnings.append(str(m)), level="WARNING")
    try:
        async with event_context(EventType.RESYNC, trigger_type="machine"):
            selector = ServiceSelector(query="true")
            pages = [p async for p in ServiceExporter(client()).pages(selector)]
    finally:
        logger.remove(sink)

    services = [s for page in pages for s in page]
    assert len(services) == 200
    assert all(s["__analytics"] is None for s in services)
    assert (
        analytics.call_count == 1
    ), "a spent daily quota is neither retried nor re-asked"
    assert len([w for w in warnings if "daily quota" in w]) == 1


@respx.mock
async def test_custom_fields_are_attached_when_asked() -> None:
    respx.get(f"{API}/services").respond(
        json={"services": [{"id": "S1"}], "more": False}
    )
    respx.get(f"{API}/services/S1/custom_fields/values").respond(
        json={"custom_fields": [{"name": "tier", "value": "gold"}]}
    )
    selector = ServiceSelector.parse_obj(
        {"query": "true", "serviceAnalytics": False, "includeCustomFields": True}
    )
    async with event_context(EventType.RESYNC, trigger_type="machine"):
        (page,) = [p async for p in ServiceExporter(client()).pages(selector)]
    assert page[0]["__custom_fields"] == [{"name": "tier", "value": "gold"}]
    assert "__analytics" not in page[0]
