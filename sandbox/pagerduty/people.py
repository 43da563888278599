"""Users, teams and team members."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.errors import json_response, lookup
from sandbox.pagerduty.paging import (
    includes,
    multi,
    name_query,
    paginate,
    parse_page,
    with_any_team,
)
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict
from sandbox.pagerduty.views import expand_user


async def list_users(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    users = name_query(params, store.sorted_values(store.users))
    users = with_any_team(users, multi(params, "team_ids"))
    wanted = includes(params)
    body = paginate(
        "users", users, parse_page(params), lambda u: expand_user(store, u, wanted)
    )
    return json_response(body)


async def get_user(sim: PagerDutySim, request: Request) -> Response:
    user = lookup(sim.store.users, request)
    wanted = includes(request.query_params)
    return json_response({"user": expand_user(sim.store, user, wanted)})


async def list_teams(sim: PagerDutySim, request: Request) -> Response:
    params = request.query_params
    teams = name_query(params, sim.store.sorted_values(sim.store.teams))
    return json_response(paginate("teams", teams, parse_page(params), dict))


async def get_team(sim: PagerDutySim, request: Request) -> Response:
    return json_response({"team": lookup(sim.store.teams, request)})


async def team_members(sim: PagerDutySim, request: Request) -> Response:
    team = lookup(sim.store.teams, request)
    params, store = request.query_params, sim.store
    expand_users = "users" in includes(params)

    def render(member: tuple[str, str]) -> JsonDict:
        user_id, role = member
        user = store.users[user_id] if expand_users else store.ref(user_id)
        return {"user": user, "role": role}

    members = store.team_members[team["id"]]
    return json_response(paginate("members", members, parse_page(params), render))
