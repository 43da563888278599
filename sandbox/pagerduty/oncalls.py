"""Schedules, overrides, escalation policies and ``/oncalls``.

``/oncalls``: ``since`` and ``until`` default to now; every on-call period
overlapping [since, until] is listed: each shift of each user on each level.
Shifts are known at most 90 days ahead: an ``until`` further out answers 400
(the stricter of the two readings of "limited to 90 days"). ``earliest=true``
keeps the earliest period per (policy, level, user). A user placed directly on
a level is a permanent on-call (``start``/``end``/``schedule`` null), listed
for any range.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.errors import invalid_input, json_response, lookup, read_json
from sandbox.pagerduty.oncall_model import earliest_only, oncall_entries
from sandbox.pagerduty.paging import (
    includes,
    multi,
    name_query,
    paginate,
    parse_page,
    with_any_team,
)
from sandbox.pagerduty.schedules import HORIZON_SECONDS, Override
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict, PdStore, iso
from sandbox.pagerduty.times import parse_time, parse_timestamp, validate_range, zone_of
from sandbox.pagerduty.views import (
    expand_oncall,
    expand_policy,
    expand_schedule,
    in_time_zone,
)


# =================================================================== schedules
async def list_schedules(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    validate_range(params)
    schedules = name_query(params, store.sorted_values(store.schedules))
    schedules = with_any_team(schedules, multi(params, "team_ids"))
    wanted = includes(params)
    body = paginate(
        "schedules",
        schedules,
        parse_page(params),
        lambda s: expand_schedule(store, s, wanted),
    )
    return json_response(body)


async def get_schedule(sim: PagerDutySim, request: Request) -> Response:
    schedule = lookup(sim.store.schedules, request)
    validate_range(request.query_params)
    return json_response({"schedule": expand_schedule(sim.store, schedule, set())})


# =================================================================== overrides
def override_view(store: PdStore, override: Override) -> JsonDict:
    return {
        "id": override.override_id,
        "start": iso(override.start),
        "end": iso(override.end),
        "user": store.ref(override.user_id),
    }


def add_overrides(
    store: PdStore, schedule_id: str, items: list[JsonDict]
) -> list[JsonDict]:
    """Create overrides (``{start, end, user: {id}}``); the last created wins."""
    rotation = store.rotations[schedule_id]
    created: list[JsonDict] = []
    for item in items:
        user_id = str((item.get("user") or {}).get("id") or item.get("user_id") or "")
        if user_id not in store.users:
            invalid_input(f"user {user_id or '(none)'} does not exist")
        start = parse_timestamp(str(item.get("start")), "start")
        end = parse_timestamp(str(item.get("end")), "end")
        if end <= start:
            invalid_input("an override must end after it starts")
        override = rotation.add_override(store.ids.new("Q"), start, end, user_id)
        created.append(override_view(store, override))
    return created


async def create_overrides(sim: PagerDutySim, request: Request) -> Response:
    schedule = lookup(sim.store.schedules, request)
    items = (await read_json(request)).get("overrides") or []
    created = add_overrides(sim.store, schedule["id"], items)
    return json_response(
        [{"status": 201, "override": override} for override in created], 201
    )


async def list_overrides(sim: PagerDutySim, request: Request) -> Response:
    schedule = lookup(sim.store.schedules, request)
    params = request.query_params
    since = parse_time(params, "since") or sim.store.now()
    until = parse_time(params, "until") or since
    overrides = sim.store.rotations[schedule["id"]].overrides_between(since, until)
    # The contract documents 201 for this listing (sic); the simulator follows it.
    return json_response(
        {"overrides": [override_view(sim.store, o) for o in overrides]}, 201
    )


# =================================================================== policies
async def list_policies(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    policies = name_query(params, store.sorted_values(store.policies))
    policies = with_any_team(policies, multi(params, "team_ids"))
    user_ids = set(multi(params, "user_ids"))
    if user_ids:
        policies = [p for p in policies if store.policy_users[p["id"]] & user_ids]
    wanted = includes(params)
    body = paginate(
        "escalation_policies",
        policies,
        parse_page(params),
        lambda p: expand_policy(store, p, wanted),
    )
    return json_response(body)


async def get_policy(sim: PagerDutySim, request: Request) -> Response:
    policy = lookup(sim.store.policies, request)
    wanted = includes(request.query_params)
    return json_response(
        {"escalation_policy": expand_policy(sim.store, policy, wanted)}
    )


# =================================================================== on-calls
async def list_oncalls(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    page = parse_page(params)
    zone = zone_of(params)
    now = store.now()
    since = parse_time(params, "since", zone)
    until = parse_time(params, "until", zone)
    since = now if since is None else since
    until = max(now, since) if until is None else until
    if until < since:
        invalid_input("until must be after since")
    if until > now + HORIZON_SECONDS:
        invalid_input("until can be at most 90 days in the future")
    oncalls = oncall_entries(store, _policies(store, request), since, until)
    schedules = set(multi(params, "schedule_ids"))
    users = set(multi(params, "user_ids"))
    if schedules:
        oncalls = [
            o for o in oncalls if o["schedule"] and o["schedule"]["id"] in schedules
        ]
    if users:
        oncalls = [o for o in oncalls if o["user"]["id"] in users]
    if params.get("earliest") == "true":
        oncalls = earliest_only(oncalls)
    wanted = includes(params)
    body = paginate("oncalls", oncalls, page, lambda o: expand_oncall(store, o, wanted))
    return json_response(body if zone is None else in_time_zone(body, zone))


def _policies(store: PdStore, request: Request) -> list[JsonDict]:
    wanted = set(multi(request.query_params, "escalation_policy_ids"))
    policies = store.sorted_values(store.policies)
    return [p for p in policies if p["id"] in wanted] if wanted else policies
