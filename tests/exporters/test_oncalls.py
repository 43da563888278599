"""On-call listings over a range: every shift once, past PagerDuty's offset cap."""

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from client import PagerDutyClient
from exporters.catalog import OncallExporter
from integration import OncallSelector
from pagination import parse_time

API = "https://api.pagerduty.com"
CAP = 10_000


def shifts(now: datetime, policies: int, hours: int) -> list[dict[str, Any]]:
    """Hourly shifts for 90 days on each policy, plus one permanent on-call each."""
    entries: list[dict[str, Any]] = []
    for p in range(policies):
        entries.append(oncall(f"P{p}", "UPERM", None, None))
        for h in range(0, 90 * 24, hours):
            start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=h)
            entries.append(
                oncall(f"P{p}", f"U{h % 7}", start, start + timedelta(hours=hours))
            )
    return entries


def oncall(
    policy: str, user: str, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    return {
        "escalation_policy": {"id": policy},
        "escalation_level": 1,
        "schedule": {"id": f"SCH-{policy}"} if start else None,
        "user": {"id": user},
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
    }


def overlapping(
    entries: list[dict[str, Any]], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    return [
        e
        for e in entries
        if e["start"] is None
        or (parse_time(e["start"]) < until and parse_time(e["end"]) > since)
    ]


def pagerduty_oncalls(entries: list[dict[str, Any]]) -> Any:
    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        now = datetime.now(UTC)
        since = parse_time(params["since"]) if "since" in params else now
        until = parse_time(params["until"]) if "until" in params else now
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 25))
        if offset + limit > CAP:
            return httpx.Response(
                400, json={"error": {"message": "Offset+limit", "code": 2002}}
            )
        items = overlapping(entries, since, until)
        return httpx.Response(
            200,
            json={
                "oncalls": items[offset : offset + limit],
                "more": offset + limit < len(items),
                "total": len(items) if params.get("total") == "true" else None,
            },
        )

    return answer


def key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["escalation_policy"]["id"], entry["user"]["id"], entry["start"])


@respx.mock
async def test_a_range_with_more_shifts_than_the_cap_is_listed_whole_once_each() -> (
    None
):
    """Found by modelling /oncalls' real range semantics: a three-month range lists
    every shift, which on a busy account passes the 10,000 offset cap."""
    now = datetime.now(UTC)
    entries = shifts(now, policies=8, hours=1)  # ~17,000 entries
    route = respx.get(f"{API}/oncalls").mock(side_effect=pagerduty_oncalls(entries))
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    selector = OncallSelector.parse_obj({"query": "true"})

    listed = [o async for page in OncallExporter(client).pages(selector) for o in page]

    until = now + timedelta(days=90)
    expected = overlapping(entries, now - timedelta(minutes=1), until)

    assert len(listed) == len({key(o) for o in listed}), "no shift twice"
    assert {key(o) for o in listed} >= {key(o) for o in expected if o["start"] is None}
    assert len(listed) >= len(expected) - 8 * 2, "every shift in the range"
    minimal = math.ceil(len(listed) / 100)
    assert route.call_count <= 1.3 * minimal + 10, (route.call_count, minimal)
    assert all(int(c.request.url.params["offset"]) + 100 <= CAP for c in route.calls)


@respx.mock
async def test_earliest_and_filters_reach_pagerduty_as_its_parameters() -> None:
    route = respx.get(f"{API}/oncalls").respond(
        json={"oncalls": [], "more": False, "total": 0}
    )
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    selector = OncallSelector.parse_obj(
        {
            "query": "true",
            "apiQueryParams": {
                "earliest": True,
                "escalation_policy_ids": ["P1"],
                "until": 1,
            },
        }
    )
    assert [p async for p in OncallExporter(client).pages(selector)] == []
    params = route.calls.last.request.url.params
    assert params["earliest"] == "true"
    assert params.get_list("escalation_policy_ids[]") == ["P1"]
    assert parse_time(params["until"]) - parse_time(params["since"]) <= timedelta(
        days=31
    )
