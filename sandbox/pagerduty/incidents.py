"""Reading incidents and log entries.

Without ``since``/``until``/``date_range`` the window is "1 month" back from
now: a calendar month by default (the longer reading in most months), or 30
days when the simulator is set to (``incident_default_window``). A range over
6 calendar months answers 400; ``date_range=all`` ignores both. ``time_zone``
reads offset-less ``since``/``until`` and renders the answer's times.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.config import THIRTY_DAYS
from sandbox.pagerduty.errors import invalid_input, json_response, lookup
from sandbox.pagerduty.paging import includes, multi, paginate, parse_page
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import DAY, JsonDict, PdStore, iso
from sandbox.pagerduty.times import add_months, parse_time, parse_timestamp, zone_of
from sandbox.pagerduty.views import expand_incident, in_time_zone

MAX_RANGE_MONTHS = 6


def one_window_back(ts: float, mode: str, zone: tzinfo | None) -> float:
    return ts - 30 * DAY if mode == THIRTY_DAYS else add_months(ts, -1, zone)


def one_window_forward(ts: float, mode: str, zone: tzinfo | None) -> float:
    return ts + 30 * DAY if mode == THIRTY_DAYS else add_months(ts, 1, zone)


def incident_window(
    params: QueryParams, now: float, mode: str
) -> tuple[float | None, float | None]:
    """The created_at window of an incident listing, PagerDuty style."""
    if params.get("date_range") == "all":
        return None, None
    zone = zone_of(params)
    since, until = parse_time(params, "since", zone), parse_time(params, "until", zone)
    if since is None and until is None:
        return one_window_back(now, mode, zone), None
    if since is None:
        assert until is not None
        since = one_window_back(until, mode, zone)
    if until is None:
        until = one_window_forward(since, mode, zone)
    if until < since:
        invalid_input("until must be after since")
    if until > add_months(since, MAX_RANGE_MONTHS, zone):
        invalid_input("The time range between since and until must be at most 6 months")
    return since, until


async def list_incidents(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    page = parse_page(params)
    zone = zone_of(params)
    mode = sim.config.incident_default_window
    since, until = incident_window(params, store.now(), mode)
    ids = filter_incidents(store, params, store.incident_ids_between(since, until))
    ids = sort_incidents(store, params.get("sort_by"), ids)
    wanted = includes(params)
    body = paginate(
        "incidents",
        ids,
        page,
        lambda i: expand_incident(store, store.incidents[i], wanted),
    )
    return json_response(body if zone is None else in_time_zone(body, zone))


def filter_incidents(store: PdStore, params: QueryParams, ids: list[str]) -> list[str]:
    checks = _incident_checks(params)
    if not checks:
        return ids
    incidents = store.incidents
    return [i for i in ids if all(check(incidents[i]) for check in checks)]


def _incident_checks(params: QueryParams) -> list[Callable[[JsonDict], bool]]:
    checks: list[Callable[[JsonDict], bool]] = []
    statuses = set(multi(params, "statuses"))
    urgencies = set(multi(params, "urgencies"))
    services = set(multi(params, "service_ids"))
    teams = set(multi(params, "team_ids"))
    users = set(multi(params, "user_ids"))
    key = params.get("incident_key")
    if statuses:
        checks.append(lambda inc: inc["status"] in statuses)
    if urgencies:
        checks.append(lambda inc: inc["urgency"] in urgencies)
    if services:
        checks.append(lambda inc: inc["service"]["id"] in services)
    if teams:
        checks.append(lambda inc: any(t["id"] in teams for t in inc["teams"]))
    if users:
        checks.append(
            lambda inc: any(a["assignee"]["id"] in users for a in inc["assignments"])
        )
    if key:
        checks.append(lambda inc: inc["incident_key"] == key)
    return checks


def sort_incidents(store: PdStore, sort_by: str | None, ids: list[str]) -> list[str]:
    if not sort_by:
        return ids
    field_name, _, direction = sort_by.split(",")[0].partition(":")
    descending = direction.lower() == "desc"
    if field_name in ("created_at", "incident_number"):
        return ids[::-1] if descending else ids
    if field_name not in ("resolved_at", "urgency"):
        invalid_input(f"sort_by field {field_name} is not supported")
    incidents = store.incidents
    return sorted(
        ids, key=lambda i: incidents[i].get(field_name) or "", reverse=descending
    )


async def get_incident(sim: PagerDutySim, request: Request) -> Response:
    incident = lookup(sim.store.incidents, request)
    wanted = includes(request.query_params)
    return json_response({"incident": expand_incident(sim.store, incident, wanted)})


# =================================================================== log entries
async def list_log_entries(sim: PagerDutySim, request: Request) -> Response:
    """Incident log entries, derived from each incident's timeline."""
    params, store = request.query_params, sim.store
    zone = zone_of(params)
    since, until = parse_time(params, "since", zone), parse_time(params, "until", zone)
    entries = sorted(
        (
            entry
            for incident_id in store.incidents
            for entry in _timeline_entries(store, incident_id)
            if (since is None or entry[0] >= since)
            and (until is None or entry[0] < until)
        ),
        key=lambda entry: entry[0],
    )
    body = paginate(
        "log_entries", entries, parse_page(params), lambda e: _log_entry(store, e)
    )
    return json_response(body if zone is None else in_time_zone(body, zone))


def _timeline_entries(store: PdStore, incident_id: str) -> list[tuple[float, str, str]]:
    times = store.incident_times[incident_id]
    updated = parse_timestamp(store.incidents[incident_id]["updated_at"], "updated_at")
    moments = [
        (times.created, "trigger_log_entry"),
        (times.acknowledged, "acknowledge_log_entry"),
        (times.resolved, "resolve_log_entry"),
        (updated, "annotate_log_entry"),
    ]
    return [(at, kind, incident_id) for at, kind in moments if at is not None]


def _log_entry(store: PdStore, entry: tuple[float, str, str]) -> JsonDict:
    at, kind, incident_id = entry
    entry_id = f"R{incident_id}{kind[:3].upper()}{int(at)}"
    return {
        "id": entry_id,
        "type": kind,
        "summary": kind.replace("_log_entry", "").replace("_", " "),
        "self": f"{store.base_url}/log_entries/{entry_id}",
        "html_url": f"{store.html_base}/incidents/{incident_id}/log_entries/{entry_id}",
        "created_at": iso(at),
        "incident": store.ref(incident_id),
    }
