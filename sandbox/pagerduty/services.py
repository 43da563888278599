"""Services, business services, priorities and custom field values."""

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
from sandbox.pagerduty.times import zone_of
from sandbox.pagerduty.views import (
    CUSTOM_FIELD_SPECS,
    custom_field_values,
    expand_service,
    in_time_zone,
)

SERVICE_FIELDS = ("environment", "region")


async def list_services(sim: PagerDutySim, request: Request) -> Response:
    params, store = request.query_params, sim.store
    zone = zone_of(params)
    services = name_query(params, store.sorted_values(store.services))
    if params.get("name"):
        services = [s for s in services if s["name"] == params["name"]]
    services = with_any_team(services, multi(params, "team_ids"))
    if params.get("sort_by", "name").endswith(":desc"):
        services.reverse()
    wanted = includes(params)
    body = paginate(
        "services",
        services,
        parse_page(params),
        lambda s: expand_service(store, s, wanted),
    )
    return json_response(body if zone is None else in_time_zone(body, zone))


async def get_service(sim: PagerDutySim, request: Request) -> Response:
    service = lookup(sim.store.services, request)
    wanted = includes(request.query_params)
    return json_response({"service": expand_service(sim.store, service, wanted)})


async def service_custom_fields(sim: PagerDutySim, request: Request) -> Response:
    service = lookup(sim.store.services, request)
    return json_response(
        {"custom_fields": custom_field_values(service["id"], SERVICE_FIELDS)}
    )


async def incident_custom_fields(sim: PagerDutySim, request: Request) -> Response:
    incident = lookup(sim.store.incidents, request)
    names = tuple(spec[0] for spec in CUSTOM_FIELD_SPECS)
    return json_response({"custom_fields": custom_field_values(incident["id"], names)})


async def list_priorities(sim: PagerDutySim, request: Request) -> Response:
    priorities = sorted(sim.store.priorities.values(), key=lambda p: -p["order"])
    return json_response(
        paginate("priorities", priorities, parse_page(request.query_params), dict)
    )


async def list_business_services(sim: PagerDutySim, request: Request) -> Response:
    items = sim.store.sorted_values(sim.store.business_services)
    return json_response(
        paginate("business_services", items, parse_page(request.query_params), dict)
    )
