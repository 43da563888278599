"""The control API under ``/_sim/``: no auth, not counted, not rate limited.

Tests read counters and records, change the configuration at runtime and
change the data without going through PagerDuty's API (and its contract).
"""

from __future__ import annotations

from collections import Counter

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.config import runtime_view, with_changes
from sandbox.pagerduty.errors import (
    empty_response,
    invalid_input,
    json_response,
    lookup,
    not_found,
    read_json,
)
from sandbox.pagerduty.incident_changes import create_incident, patch_incident
from sandbox.pagerduty.incidents import incident_window
from sandbox.pagerduty.limits import Counters
from sandbox.pagerduty.oncall_model import oncall_entries
from sandbox.pagerduty.oncalls import add_overrides
from sandbox.pagerduty.state import PagerDutySim


async def counters(sim: PagerDutySim, request: Request) -> Response:
    return json_response(sim.counters.snapshot())


async def requests(sim: PagerDutySim, request: Request) -> Response:
    return json_response(sim.counters.requests())


async def reset_counters(sim: PagerDutySim, request: Request) -> Response:
    sim.counters = Counters()
    return json_response(sim.counters.snapshot())


async def reset_rate_limit(sim: PagerDutySim, request: Request) -> Response:
    sim.limiter.reset()
    sim.operation_limiter.reset()
    sim.daily_limiter.reset()
    return json_response({"ok": True})


async def config(sim: PagerDutySim, request: Request) -> Response:
    if request.method == "POST":
        sim.reconfigure(with_changes(sim.config, await read_json(request)))
    return json_response(runtime_view(sim.config))


async def stats(sim: PagerDutySim, request: Request) -> Response:
    store = sim.store
    now = store.now()
    since, _ = incident_window(QueryParams(), now, sim.config.incident_default_window)
    statuses = Counter(inc["status"] for inc in store.incidents.values())
    policies = store.sorted_values(store.policies)
    return json_response(
        {
            "teams": len(store.teams),
            "users": len(store.users),
            "schedules": len(store.schedules),
            "escalation_policies": len(store.policies),
            "services": len(store.services),
            "priorities": len(store.priorities),
            "business_services": len(store.business_services),
            "service_dependencies": len(store.dependencies),
            "maintenance_windows": len(store.maintenance_windows),
            "change_events": len(store.change_events),
            "oncalls": len(oncall_entries(store, policies, now, now)),
            "incidents_total": len(store.incidents),
            "incidents_default_window": len(store.incident_ids_between(since, None)),
            "incidents_by_status": dict(sorted(statuses.items())),
            "webhook_subscriptions": len(sim.subscriptions.items),
        }
    )


async def delete_service(sim: PagerDutySim, request: Request) -> Response:
    if not sim.store.remove_service(request.path_params["id"]):
        not_found()
    return empty_response(204)


async def create_incident_now(sim: PagerDutySim, request: Request) -> Response:
    incident = create_incident(sim.store, await read_json(request))
    return json_response({"incident": incident}, 201)


async def change_incident(sim: PagerDutySim, request: Request) -> Response:
    incident = lookup(sim.store.incidents, request)
    patch_incident(sim.store, incident, await read_json(request))
    return json_response({"incident": incident})


async def create_overrides(sim: PagerDutySim, request: Request) -> Response:
    """``{"overrides": [{"start", "end", "user": {"id"}}]}`` or one such object."""
    schedule = lookup(sim.store.schedules, request)
    body = await read_json(request)
    items = body.get("overrides", [body])
    if not isinstance(items, list):
        invalid_input("overrides must be a list")
    created = add_overrides(sim.store, schedule["id"], items)
    return json_response({"overrides": created}, 201)


async def violations(sim: PagerDutySim, request: Request) -> Response:
    return json_response(sim.violations.snapshot())


async def reset_violations(sim: PagerDutySim, request: Request) -> Response:
    return json_response({"cleared": sim.violations.reset()})
