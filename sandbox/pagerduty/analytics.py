"""``/analytics``: per-service incident metrics and one incident's raw analytics.

Both share a daily quota when ``analytics_daily_limit`` is set (headers
``daily-ratelimit-*``; 429 when spent).
"""

from __future__ import annotations

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.errors import RATE_LIMIT_ERROR, json_response, lookup, read_json
from sandbox.pagerduty.limits import RateDecision
from sandbox.pagerduty.metrics import service_incident_metrics
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import DAY, JsonDict
from sandbox.pagerduty.times import parse_time


def daily_quota(sim: PagerDutySim) -> RateDecision | None:
    limit = sim.config.analytics_daily_limit
    return sim.daily_limiter.hit("analytics", limit, DAY) if limit > 0 else None


async def services_metrics(sim: PagerDutySim, request: Request) -> Response:
    decision = daily_quota(sim)
    headers = decision.headers("daily-") if decision else {}
    if decision and not decision.allowed:
        return RATE_LIMIT_ERROR.response(headers)
    filters = (await read_json(request)).get("filters") or {}
    body = {"data": _metrics(sim, filters), "filters": filters}
    return json_response(body, headers=headers)


def _metrics(sim: PagerDutySim, filters: JsonDict) -> list[JsonDict]:
    params = QueryParams(
        {
            key: str(filters[name])
            for key, name in (
                ("since", "created_at_start"),
                ("until", "created_at_end"),
            )
            if filters.get(name)
        }
    )
    now = sim.store.now()
    since = parse_time(params, "since") or now - 30 * DAY
    until = parse_time(params, "until") or now + 1
    service_ids = filters.get("service_ids")
    wanted = set(service_ids) if service_ids else None
    ids = sim.store.incident_ids_between(since, until)
    return service_incident_metrics(sim.store, ids, wanted)


async def raw_incident(sim: PagerDutySim, request: Request) -> Response:
    decision = daily_quota(sim)
    headers = decision.headers("daily-") if decision else {}
    if decision and not decision.allowed:
        return RATE_LIMIT_ERROR.response(headers)
    incident = lookup(sim.store.incidents, request)
    times = sim.store.incident_times[incident["id"]]

    def seconds_until(moment: float | None) -> int | None:
        return None if moment is None else int(moment - times.created)

    body: JsonDict = {
        "id": incident["id"],
        "service_id": incident["service"]["id"],
        "urgency": incident["urgency"],
        "created_at": incident["created_at"],
    }
    for key, moment in (
        ("seconds_to_first_ack", times.acknowledged),
        ("seconds_to_engage", times.engaged),
        ("seconds_to_resolve", times.resolved),
    ):
        value = seconds_until(moment)
        if value is not None:
            body[key] = value
    return json_response(body, headers=headers)
