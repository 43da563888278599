"""The ASGI app: PagerDuty's API routes, the control API and a catch-all."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.pagerduty import (
    analytics,
    control,
    graph,
    incident_notes,
    incident_writes,
    incidents,
    oncalls,
    people,
    services,
    webhook_control,
    webhooks,
)
from sandbox.pagerduty.config import SimConfig
from sandbox.pagerduty.errors import ApiError
from sandbox.pagerduty.pipeline import Handler, handle_api
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.write_log import recorded, reset_writes, writes_view

API_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/services", services.list_services),
    ("GET", "/services/{id}", services.get_service),
    ("GET", "/services/{id}/custom_fields/values", services.service_custom_fields),
    ("GET", "/incidents", incidents.list_incidents),
    ("POST", "/incidents", recorded(incident_writes.create)),
    ("GET", "/incidents/{id}", incidents.get_incident),
    ("PUT", "/incidents/{id}", recorded(incident_writes.update)),
    ("GET", "/incidents/{id}/notes", incident_notes.list_notes),
    ("POST", "/incidents/{id}/notes", recorded(incident_notes.create_note)),
    ("POST", "/incidents/{id}/snooze", recorded(incident_writes.snooze)),
    ("GET", "/incidents/{id}/custom_fields/values", services.incident_custom_fields),
    ("GET", "/log_entries", incidents.list_log_entries),
    ("GET", "/users", people.list_users),
    ("GET", "/users/{id}", people.get_user),
    ("GET", "/teams", people.list_teams),
    ("GET", "/teams/{id}", people.get_team),
    ("GET", "/teams/{id}/members", people.team_members),
    ("GET", "/schedules", oncalls.list_schedules),
    ("GET", "/schedules/{id}", oncalls.get_schedule),
    ("GET", "/schedules/{id}/overrides", oncalls.list_overrides),
    ("POST", "/schedules/{id}/overrides", recorded(oncalls.create_overrides)),
    ("GET", "/escalation_policies", oncalls.list_policies),
    ("GET", "/escalation_policies/{id}", oncalls.get_policy),
    ("GET", "/oncalls", oncalls.list_oncalls),
    ("GET", "/priorities", services.list_priorities),
    ("GET", "/business_services", services.list_business_services),
    (
        "GET",
        "/service_dependencies/technical_services/{id}",
        graph.technical_dependencies,
    ),
    (
        "GET",
        "/service_dependencies/business_services/{id}",
        graph.business_dependencies,
    ),
    ("GET", "/maintenance_windows", graph.list_maintenance_windows),
    ("GET", "/maintenance_windows/{id}", graph.get_maintenance_window),
    ("GET", "/change_events", graph.list_change_events),
    ("POST", "/analytics/metrics/incidents/services", analytics.services_metrics),
    ("GET", "/analytics/raw/incidents/{id}", analytics.raw_incident),
    ("GET", "/webhook_subscriptions", webhooks.list_subscriptions),
    ("POST", "/webhook_subscriptions", webhooks.create_subscription),
    ("GET", "/webhook_subscriptions/{id}", webhooks.get_subscription),
    ("PUT", "/webhook_subscriptions/{id}", webhooks.update_subscription),
    ("DELETE", "/webhook_subscriptions/{id}", webhooks.delete_subscription),
    ("POST", "/webhook_subscriptions/{id}/enable", webhooks.enable_subscription),
    ("POST", "/webhook_subscriptions/{id}/ping", webhooks.ping_subscription),
)

CONTROL_ROUTES: tuple[tuple[tuple[str, ...], str, Handler], ...] = (
    (("GET",), "/_sim/counters", control.counters),
    (("POST",), "/_sim/counters/reset", control.reset_counters),
    (("GET",), "/_sim/requests", control.requests),
    (("POST",), "/_sim/rate_limit/reset", control.reset_rate_limit),
    (("GET", "POST"), "/_sim/config", control.config),
    (("GET",), "/_sim/stats", control.stats),
    (("DELETE",), "/_sim/services/{id}", control.delete_service),
    (("POST",), "/_sim/incidents", control.create_incident_now),
    (("POST",), "/_sim/incidents/{id}", control.change_incident),
    (("POST",), "/_sim/schedules/{id}/overrides", control.create_overrides),
    (("POST",), "/_sim/maintenance_windows", graph.create_window),
    (("GET",), "/_sim/graph", graph.graph),
    (("GET",), "/_sim/writes", writes_view),
    (("POST",), "/_sim/writes/reset", reset_writes),
    (("GET",), "/_sim/contract/violations", control.violations),
    (("POST",), "/_sim/contract/violations/reset", control.reset_violations),
    (("POST",), "/_sim/webhooks/deliver", webhook_control.deliver),
    (("POST",), "/_sim/deliver_webhook", webhook_control.deliver),
    (("GET",), "/_sim/deliveries", webhook_control.deliveries),
    (("POST",), "/_sim/deliveries/reset", webhook_control.reset_deliveries),
    (
        ("POST",),
        "/_sim/webhook_subscriptions/{id}/temporarily_disable",
        webhook_control.temporarily_disable,
    ),
)

ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def api_route(sim: PagerDutySim, method: str, path: str, handler: Handler) -> Route:
    endpoint_name = f"{method} {path}"

    async def endpoint(request: Request) -> Response:
        return await handle_api(sim, request, endpoint_name, handler)

    return Route(path, endpoint, methods=[method], name=handler.__name__)


def control_route(
    sim: PagerDutySim, methods: tuple[str, ...], path: str, handler: Handler
) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(sim, request)
        except ApiError as error:
            return error.response()

    return Route(path, endpoint, methods=list(methods), name=handler.__name__)


def catch_all_route(sim: PagerDutySim) -> Route:
    """Other paths: PagerDuty's JSON 404 after auth, counted, a contract violation
    unless the operation exists and the simulator just does not serve it."""

    async def endpoint(request: Request) -> Response:
        return await handle_api(sim, request, "* /{unknown}", None)

    return Route("/{path:path}", endpoint, methods=ALL_METHODS)


def create_app(config: SimConfig) -> Starlette:
    """Generate the data and build the ASGI app; ``app.state.sim`` is the simulator."""
    sim = PagerDutySim(config)
    routes = [
        control_route(sim, m, path, handler) for m, path, handler in CONTROL_ROUTES
    ]
    routes += [api_route(sim, m, path, handler) for m, path, handler in API_ROUTES]
    routes.append(catch_all_route(sim))
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
