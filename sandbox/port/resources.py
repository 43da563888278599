"""Scorecards and pages: resources Ocean creates from ``.port/resources``
next to blueprints and actions; stored as sent."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.port.blueprints import BlueprintStore
from sandbox.port.common import JSON, PortError, RouteRegistrar, json_object, ok


class ResourceStore:
    def __init__(self) -> None:
        self.scorecards: dict[str, list[JSON]] = {}
        self.pages: dict[str, JSON] = {}

    def clear(self) -> None:
        self.scorecards.clear()
        self.pages.clear()


def add_resource_routes(
    route: RouteRegistrar, store: ResourceStore, blueprints: BlueprintStore
) -> None:
    @route("/v1/blueprints/{identifier}/scorecards", ["POST"])
    async def create_scorecard(request: Request) -> Response:
        body = await json_object(request)
        blueprints.get(request.path_params["identifier"])
        store.scorecards.setdefault(request.path_params["identifier"], []).append(body)
        return ok({"scorecard": body}, status=201)

    @route("/v1/pages", ["POST"])
    async def create_page(request: Request) -> Response:
        body = await json_object(request)
        store.pages[str(body.get("identifier"))] = body
        return ok({"page": body}, status=201)

    @route("/v1/pages/{identifier}", ["DELETE"])
    async def delete_page(request: Request) -> Response:
        if store.pages.pop(request.path_params["identifier"], None) is None:
            raise PortError(404, "not_found", "Page was not found")
        return ok()
