"""``/v1/actions``: self-service action definitions.

Ocean (``initializePortResources``) POSTs each object of ``.port/resources/actions.json``
as is. An action an integration executes has an ``INTEGRATION_ACTION`` invocation
method naming the installation and the integration's action type::

    {"identifier": "...", "title": "...", "trigger": {"type": "self-service",
     "operation": "DAY-2", "blueprintIdentifier": "...", "userInputs": {...}},
     "invocationMethod": {"type": "INTEGRATION_ACTION", "installationId": "...",
     "integrationActionType": "<spec actions[].name>",
     "integrationActionExecutionProperties": {...}}}
"""

from __future__ import annotations

import copy

from starlette.requests import Request
from starlette.responses import Response

from sandbox.port.common import (
    JSON,
    PortError,
    RouteRegistrar,
    datasource_from,
    json_object,
    now_iso,
    ok,
)

INTEGRATION_ACTION = "INTEGRATION_ACTION"


def _validate(body: JSON) -> None:
    identifier = body.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        raise PortError(422, "invalid_request", "Action identifier is required")
    if not isinstance(body.get("trigger"), dict):
        raise PortError(422, "invalid_request", "Action trigger must be an object")
    method = body.get("invocationMethod")
    if not isinstance(method, dict) or not isinstance(method.get("type"), str):
        raise PortError(
            422, "invalid_request", "Action invocationMethod.type is required"
        )
    if method["type"] == INTEGRATION_ACTION:
        for key in ("installationId", "integrationActionType"):
            if not isinstance(method.get(key), str) or not method.get(key):
                raise PortError(
                    422,
                    "invalid_request",
                    f"invocationMethod.{key} is required for {INTEGRATION_ACTION}",
                )


class ActionStore:
    """Action definitions by identifier."""

    def __init__(self) -> None:
        self.actions: dict[str, JSON] = {}

    def clear(self) -> None:
        self.actions.clear()

    def get(self, identifier: str) -> JSON:
        action = self.actions.get(identifier)
        if action is None:
            raise PortError(404, "not_found", f"Action {identifier!r} was not found")
        return action

    def create(self, body: JSON, author: str) -> JSON:
        _validate(body)
        identifier = str(body["identifier"])
        if identifier in self.actions:
            raise PortError(
                409,
                "identifier_taken",
                f"An action with identifier {identifier!r} already exists",
            )
        stamp = now_iso()
        action: JSON = {
            "title": identifier,
            "description": None,
            "icon": None,
            "requiredApproval": False,
            **copy.deepcopy(body),
            "createdAt": stamp,
            "createdBy": author,
            "updatedAt": stamp,
            "updatedBy": author,
        }
        self.actions[identifier] = action
        return action

    def replace(self, identifier: str, body: JSON, author: str) -> JSON:
        current = self.get(identifier)
        body = {**body, "identifier": identifier}
        _validate(body)
        action: JSON = {
            "title": identifier,
            "description": None,
            "icon": None,
            "requiredApproval": False,
            **copy.deepcopy(body),
            "createdAt": current.get("createdAt"),
            "createdBy": current.get("createdBy"),
            "updatedAt": now_iso(),
            "updatedBy": author,
        }
        self.actions[identifier] = action
        return action

    def delete(self, identifier: str) -> None:
        self.get(identifier)
        del self.actions[identifier]


def add_action_routes(route: RouteRegistrar, store: ActionStore) -> None:
    """Register after the ``/v1/actions/runs...`` routes: ``GET /v1/actions/runs``
    must not be read as the action named ``runs``."""

    @route("/v1/actions", ["POST"])
    async def create_action(request: Request) -> Response:
        action = store.create(await json_object(request), datasource_from(request))
        return ok({"action": action}, status=201)

    @route("/v1/actions", ["GET"])
    async def list_actions(request: Request) -> Response:
        wanted = set(request.query_params.getlist("action_identifier"))
        blueprint = request.query_params.get("blueprint_identifier")
        actions = [
            action
            for action in store.actions.values()
            if (not wanted or action["identifier"] in wanted)
            and (
                blueprint is None
                or action.get("trigger", {}).get("blueprintIdentifier") == blueprint
            )
        ]
        return ok({"actions": actions})

    @route("/v1/actions/{identifier}", ["GET"])
    async def get_action(request: Request) -> Response:
        return ok({"action": store.get(request.path_params["identifier"])})

    @route("/v1/actions/{identifier}", ["PUT"])
    async def replace_action(request: Request) -> Response:
        action = store.replace(
            request.path_params["identifier"],
            await json_object(request),
            datasource_from(request),
        )
        return ok({"action": action})

    @route("/v1/actions/{identifier}", ["DELETE"])
    async def delete_action(request: Request) -> Response:
        store.delete(request.path_params["identifier"])
        return ok()
