"""``/v1/workflows/...``: workflow node runs. The stand-in has no workflows, so
every claim answers none and every node run is unknown.

Ocean's actions processor claims from both queues, alternating which goes first
(``POST /v1/workflows/runs/claim-pending`` -> ``{nodeRuns: [...]}``); its
``find_run_by_external_id`` falls back to ``GET /v1/workflows/nodes/runs``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.port.common import JSON, PortError, RouteRegistrar, json_object, ok
from sandbox.port.runs import require_reserved_usage


class WorkflowRunStore:
    """Counts the claims it answered (with nothing)."""

    def __init__(self) -> None:
        self.claims: list[JSON] = []

    def clear(self) -> None:
        self.claims.clear()


def _unknown_node_run(run_id: str) -> PortError:
    return PortError(404, "not_found", f"Workflow node run {run_id!r} was not found")


def add_workflow_routes(route: RouteRegistrar, store: WorkflowRunStore) -> None:
    @route("/v1/workflows/runs/claim-pending", ["POST"])
    async def claim_pending(request: Request) -> Response:
        require_reserved_usage(request)
        body = await json_object(request)
        if not isinstance(body.get("installationId"), str):
            raise PortError(422, "invalid_request", "installationId is required")
        store.claims.append(body)
        return ok({"nodeRuns": []})

    @route("/v1/workflows/runs/ack", ["PATCH"])
    async def acknowledge(request: Request) -> Response:
        require_reserved_usage(request)
        body = await json_object(request)
        raise _unknown_node_run(str(body.get("nodeRunIdentifier")))

    @route("/v1/workflows/nodes/runs", ["GET"])
    async def find_node_runs(request: Request) -> Response:
        require_reserved_usage(request)
        return ok({"nodeRuns": []})

    @route("/v1/workflows/nodes/runs/{run_id}", ["PATCH"])
    async def patch_node_run(request: Request) -> Response:
        raise _unknown_node_run(request.path_params["run_id"])

    @route("/v1/workflows/nodes/runs/{run_id}/logs", ["POST"])
    async def add_node_run_logs(request: Request) -> Response:
        raise _unknown_node_run(request.path_params["run_id"])
