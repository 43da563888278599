"""The service graph's endpoints: service dependencies, maintenance windows,
change events, and their control API (create a window, read the whole graph)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.data_graph import add_maintenance_window
from sandbox.pagerduty.errors import invalid_input, json_response, lookup, read_json
from sandbox.pagerduty.paging import includes, multi, paginate, parse_page
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict, PdStore
from sandbox.pagerduty.times import parse_time, parse_timestamp, validate_range

WINDOW_FILTERS = ("past", "future", "ongoing", "open", "all")


# ------------------------------------------------------------ dependencies
def relationships_of(store: PdStore, object_id: str) -> list[JsonDict]:
    """The immediate relationships of one service: where it supports or depends."""
    return [
        edge
        for edge in store.dependencies
        if object_id
        in (edge["dependent_service"]["id"], edge["supporting_service"]["id"])
    ]


async def technical_dependencies(sim: PagerDutySim, request: Request) -> Response:
    service = lookup(sim.store.services, request)
    return json_response({"relationships": relationships_of(sim.store, service["id"])})


async def business_dependencies(sim: PagerDutySim, request: Request) -> Response:
    business = lookup(sim.store.business_services, request)
    return json_response({"relationships": relationships_of(sim.store, business["id"])})


# ------------------------------------------------------------ maintenance windows
def window_state(window: JsonDict, now: float) -> str:
    start = parse_timestamp(window["start_time"], "start_time")
    end = parse_timestamp(window["end_time"], "end_time")
    if end <= now:
        return "past"
    return "ongoing" if start <= now else "future"


def window_matches(window: JsonDict, wanted: str, now: float) -> bool:
    state = window_state(window, now)
    if wanted == "open":
        return state in ("ongoing", "future")
    return wanted == "all" or state == wanted


def expand_window(store: PdStore, window: JsonDict, wanted: set[str]) -> JsonDict:
    if not wanted:
        return window
    out = dict(window)
    if "services" in wanted:
        out["services"] = [store.services.get(s["id"], s) for s in window["services"]]
    if "teams" in wanted:
        out["teams"] = [store.teams.get(t["id"], t) for t in window["teams"]]
    if "users" in wanted and window.get("created_by"):
        creator = window["created_by"]
        out["created_by"] = store.users.get(creator["id"], creator)
    return out


async def list_maintenance_windows(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    wanted = params.get("filter") or "all"
    if wanted not in WINDOW_FILTERS:
        invalid_input(f"filter must be one of {', '.join(WINDOW_FILTERS)}")
    now = store.now()
    windows = sorted(
        store.maintenance_windows.values(),
        key=lambda w: (w["start_time"], w["id"]),
    )
    windows = [w for w in windows if window_matches(w, wanted, now)]
    if service_ids := set(multi(params, "service_ids")):
        windows = [w for w in windows if {s["id"] for s in w["services"]} & service_ids]
    if team_ids := set(multi(params, "team_ids")):
        windows = [w for w in windows if {t["id"] for t in w["teams"]} & team_ids]
    if query := (params.get("query") or "").lower():
        windows = [w for w in windows if query in w["description"].lower()]
    expand = includes(params)
    return json_response(
        paginate(
            "maintenance_windows",
            windows,
            parse_page(params),
            lambda w: expand_window(store, w, expand),
        )
    )


async def get_maintenance_window(sim: PagerDutySim, request: Request) -> Response:
    window = lookup(sim.store.maintenance_windows, request)
    expand = includes(request.query_params)
    return json_response(
        {"maintenance_window": expand_window(sim.store, window, expand)}
    )


# ------------------------------------------------------------ change events
async def list_change_events(sim: PagerDutySim, request: Request) -> Response:
    """Newest first; `since`/`until` bound the timestamp (since <= t < until)."""
    params = request.query_params
    validate_range(params)
    since, until = parse_time(params, "since"), parse_time(params, "until")
    teams = set(multi(params, "team_ids"))
    integrations = set(multi(params, "integration_ids"))
    store = sim.store
    events = []
    for event in store.change_events:
        moment = parse_timestamp(event["timestamp"], "timestamp")
        if (since is not None and moment < since) or (
            until is not None and moment >= until
        ):
            continue
        if integrations and event["integration"]["id"] not in integrations:
            continue
        if teams and not teams & event_teams(store, event):
            continue
        events.append(event)
    return json_response(paginate("change_events", events, parse_page(params), dict))


def event_teams(store: PdStore, event: JsonDict) -> set[str]:
    return {
        team["id"]
        for ref in event["services"]
        for team in (store.services.get(ref["id"]) or {}).get("teams") or []
    }


# ------------------------------------------------------------ control
async def create_window(sim: PagerDutySim, request: Request) -> Response:
    """``{"start_time", "end_time", "service_ids": [...], "description"}``."""
    body = await read_json(request)
    start = parse_timestamp(str(body.get("start_time") or ""), "start_time")
    end = parse_timestamp(str(body.get("end_time") or ""), "end_time")
    service_ids = body.get("service_ids")
    if end <= start:
        invalid_input("end_time must be after start_time")
    if (
        not isinstance(service_ids, list)
        or not service_ids
        or any(sid not in sim.store.services for sid in service_ids)
    ):
        invalid_input("service_ids must list existing services")
    description = str(body.get("description") or "Maintenance")
    window = add_maintenance_window(sim.store, description, start, end, service_ids)
    return json_response({"maintenance_window": window}, 201)


async def graph(sim: PagerDutySim, request: Request) -> Response:
    """The whole graph at once, for tests: every dependency edge and window."""
    store = sim.store
    return json_response(
        {
            "dependencies": store.dependencies,
            "maintenance_windows": list(store.maintenance_windows.values()),
            "change_events": len(store.change_events),
        }
    )
