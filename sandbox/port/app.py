"""The stand-in's ASGI app: every API area's routes behind one wrapper that
counts requests, checks the bearer token and injects faults."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.port.actions import add_action_routes
from sandbox.port.auth import add_auth_routes
from sandbox.port.blueprints import add_blueprint_routes
from sandbox.port.common import Endpoint, PortError, logger
from sandbox.port.control import add_control_routes
from sandbox.port.entities import add_entity_routes
from sandbox.port.integrations import add_integration_routes
from sandbox.port.resources import add_resource_routes
from sandbox.port.runs import add_run_routes
from sandbox.port.search import add_search_routes
from sandbox.port.state import PortState
from sandbox.port.workflows import add_workflow_routes

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _wrap(
    port: PortState, path: str, method: str, handler: Endpoint, auth: bool
) -> Endpoint:
    key = f"{method} {path}"
    traffic = port.traffic

    async def endpoint(request: Request) -> Response:
        if not path.startswith("/_standin"):
            traffic.request_counts[key] += 1
        if auth and not port.auth.check_token(request.headers.get("authorization")):
            traffic.unauthorized_requests += 1
            return JSONResponse(
                {
                    "ok": False,
                    "error": "unauthorized",
                    "message": "Missing or invalid bearer token",
                },
                status_code=401,
            )
        fault = traffic.take_fault(method, path)
        if fault is not None:
            logger.warning("injecting fault %s -> %s", key, fault.status)
            return JSONResponse(fault.body, status_code=fault.status)
        try:
            return await handler(request)
        except PortError as err:
            return JSONResponse(err.body(), status_code=err.status)

    return endpoint


def _unknown(port: PortState) -> Endpoint:
    async def unknown(request: Request) -> Response:
        key = f"{request.method} {request.url.path}"
        port.traffic.unknown(request.method, request.url.path, str(request.url.query))
        logger.warning("UNKNOWN ENDPOINT %s (query=%s) -> 404", key, request.url.query)
        return JSONResponse(
            {
                "ok": False,
                "error": "not_found",
                "message": f"port-standin does not implement {key}",
            },
            status_code=404,
        )

    return unknown


def create_app(state: PortState | None = None) -> Starlette:
    """Build the ASGI app; the state is reachable as ``app.state.port``."""
    port = state if state is not None else PortState()
    routes: list[Route] = []

    def route(
        path: str, methods: list[str], *, auth: bool = True
    ) -> Callable[[Endpoint], Endpoint]:
        def register(handler: Endpoint) -> Endpoint:
            for method in methods:
                endpoint = _wrap(port, path, method, handler, auth)
                routes.append(Route(path, endpoint, methods=[method]))
            return handler

        return register

    # Registration order matters where a literal path shares its shape with a
    # templated one (runs before actions; datasource-entities before blueprints).
    add_auth_routes(route, port.auth)
    add_integration_routes(route, port.integration_store)
    add_search_routes(route, port.search)
    add_blueprint_routes(route, port.blueprint_store)
    add_resource_routes(route, port.resources, port.blueprint_store)
    add_run_routes(route, port.runs)
    add_workflow_routes(route, port.workflow_runs)
    add_action_routes(route, port.action_store)
    add_entity_routes(
        route, port.store, port.blueprint_store, port.upserter, port.deleter
    )
    add_control_routes(route, port)
    routes.append(Route("/{path:path}", _unknown(port), methods=ALL_METHODS))
    app = Starlette(routes=routes)
    app.state.port = port
    return app
