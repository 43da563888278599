import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from client import PagerDutyClient
from exporters.incidents import (
    IncidentExporter,
    longest_month_before,
    matches_selector,
)
from integration import IncidentSelector
from pagination import parse_time

API = "https://api.pagerduty.com"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def incident(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "triggered",
        "urgency": "high",
        "service": {"id": "S1"},
        "teams": [{"id": "T1"}],
        "assignments": [{"assignee": {"id": "U1"}}],
        "incident_key": "k",
        "created_at": iso(datetime.now(UTC) - timedelta(days=2)),
    }
    return base | fields


def selector(**options: Any) -> IncidentSelector:
    return IncidentSelector.parse_obj({"query": "true", **options})


def test_filters_of_the_block_decide() -> None:
    open_only = selector(apiQueryParams={"statuses": ["triggered", "acknowledged"]})
    assert matches_selector(incident(), open_only)
    assert not matches_selector(incident(status="resolved"), open_only)
    by_team = selector(apiQueryParams={"team_ids": ["T2"]})
    assert not matches_selector(incident(), by_team)
    by_user = selector(apiQueryParams={"user_ids": ["U1"], "service_ids": ["S1"]})
    assert matches_selector(incident(), by_user)


def test_created_window_of_the_block_decides() -> None:
    old = incident(created_at=iso(datetime.now(UTC) - timedelta(days=45)))
    assert not matches_selector(old, selector()), "outside PagerDuty's month"
    assert matches_selector(old, selector(lookbackDays=60))
    assert matches_selector(old, selector(apiQueryParams={"date_range": "all"}))


def calendar_month_before(now: datetime) -> datetime:
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return now.replace(
        year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1])
    )


DEFAULT_MONTH_READINGS: dict[str, Callable[[datetime], datetime]] = {
    "calendar month": calendar_month_before,
    "30 days": lambda now: now - timedelta(days=30),
}


def pagerduty_incidents(created: list[datetime], default_start: Any) -> Any:
    """List Incidents as PagerDuty answers it, with `default_start(now)` as the start
    of the window it uses when the request names no since/until."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        now = datetime.now(UTC)
        since = parse_time(params["since"]) if "since" in params else None
        until = parse_time(params["until"]) if "until" in params else None
        if since is None and until is None:
            since, until = default_start(now), now
        assert since is not None and until is not None
        items = [
            {"id": f"Q{i}", "created_at": moment.isoformat()}
            for i, moment in enumerate(created)
            if since <= moment < until
        ]
        offset = int(params.get("offset", 0))
        page = items[offset : offset + 100]
        total = len(items) if params.get("total") == "true" else None
        return httpx.Response(
            200,
            json={
                "incidents": page,
                "more": offset + 100 < len(items),
                "total": total,
            },
        )

    return answer


@pytest.mark.parametrize("reading", sorted(DEFAULT_MONTH_READINGS))
@respx.mock
async def test_a_block_without_a_range_lists_exactly_pagerdutys_default_window(
    reading: str,
) -> None:
    """Found by the contract-checked simulator: we used to list the last 30 days,
    missing what PagerDuty's "1 month" holds beyond them (e.g. day 31 of a
    31-day month)."""
    now = datetime.now(UTC)
    ages = [1, 20, 29.5, 30.2, 30.6, 31.5, 40]
    created = [now - timedelta(days=age) for age in ages]
    default_start = DEFAULT_MONTH_READINGS[reading]
    route = respx.get(f"{API}/incidents").mock(
        side_effect=pagerduty_incidents(created, default_start)
    )
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    listed = [
        i["id"]
        async for page in IncidentExporter(client).pages(selector())
        for i in page
    ]
    expected = [
        f"Q{i}" for i, moment in enumerate(created) if moment >= default_start(now)
    ]
    assert sorted(listed) == sorted(expected)
    sent = {key for call in route.calls for key in call.request.url.params}
    assert not sent & {"since", "until", "date_range"}, "PagerDuty's window decides"


def test_live_events_use_the_longer_reading_of_one_month() -> None:
    for now in (
        datetime(2026, 3, 31, 12, tzinfo=UTC),
        datetime(2026, 3, 1, 12, tzinfo=UTC),
        datetime(2026, 1, 15, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    ):
        start = longest_month_before(now)
        assert start <= now - timedelta(days=30)
        assert start <= calendar_month_before(now)
        assert start in (now - timedelta(days=30), calendar_month_before(now))
