"""The control API under ``/_standin/`` (no auth): inspect, seed, reconfigure,
inject faults, and trigger action runs the way a Port user would."""

from __future__ import annotations

import copy

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.port.common import JSON, RouteRegistrar, base_url, json_object, ok
from sandbox.port.state import PortState
from sandbox.port.traffic import Fault


def _apply_config(port: PortState, body: JSON) -> None:
    settings = port.settings
    if "strict" in body:
        settings.strict = bool(body["strict"])
    if "featureFlags" in body:
        settings.feature_flags = [str(f) for f in body["featureFlags"]]
    if "provisionEnabledIntegrations" in body:
        settings.provision_enabled_integrations = [
            str(i) for i in body["provisionEnabledIntegrations"]
        ]
    if "beforeFilterField" in body:
        settings.before_filter_field = str(body["beforeFilterField"] or "")
    if "badCredentials" in body:
        bad = body["badCredentials"]
        settings.bad_credentials = (str(bad[0]), str(bad[1])) if bad else None


def _config(port: PortState) -> JSON:
    settings = port.settings
    return {
        "strict": settings.strict,
        "featureFlags": settings.feature_flags,
        "provisionEnabledIntegrations": settings.provision_enabled_integrations,
        "beforeFilterField": settings.before_filter_field,
        "badCredentials": (
            list(settings.bad_credentials) if settings.bad_credentials else None
        ),
    }


def add_control_routes(route: RouteRegistrar, port: PortState) -> None:
    add_catalog_control_routes(route, port)
    add_setup_control_routes(route, port)
    add_run_control_routes(route, port)


def add_catalog_control_routes(route: RouteRegistrar, port: PortState) -> None:
    """Read-only views of what Ocean did."""

    @route("/_standin/health", ["GET"], auth=False)
    async def standin_health(request: Request) -> Response:
        return ok()

    @route("/_standin/catalog", ["GET"], auth=False)
    async def standin_catalog(request: Request) -> Response:
        return JSONResponse(port.catalog())

    @route("/_standin/entities/{blueprint}", ["GET"], auth=False)
    async def standin_entities(request: Request) -> Response:
        return JSONResponse(
            copy.deepcopy(port.entities.get(request.path_params["blueprint"], {}))
        )

    @route("/_standin/mismatches", ["GET"], auth=False)
    async def standin_mismatches(request: Request) -> Response:
        return JSONResponse(port.mismatch_report())

    @route("/_standin/requests", ["GET"], auth=False)
    async def standin_requests(request: Request) -> Response:
        return JSONResponse(port.requests_report())

    @route("/_standin/deleted", ["GET"], auth=False)
    async def standin_deleted(request: Request) -> Response:
        return JSONResponse(
            {
                "deleted": port.store.deleted_entities,
                "stubsCreated": port.store.stubs_created,
            }
        )

    @route("/_standin/logs", ["GET"], auth=False)
    async def standin_logs(request: Request) -> Response:
        return JSONResponse(port.integration_store.telemetry())

    @route("/_standin/integration/{identifier}", ["GET"], auth=False)
    async def standin_integration(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        store = port.integration_store
        integration = store.get(identifier)
        return JSONResponse(
            {
                **copy.deepcopy(integration),
                "resyncStateHistory": list(
                    store.resync_state_history.get(identifier, [])
                ),
                "kindExamples": store.kind_examples.get(identifier, {}),
            }
        )


def add_setup_control_routes(route: RouteRegistrar, port: PortState) -> None:
    """Seeding, resetting, settings, tokens and faults."""

    @route("/_standin/reset", ["POST"], auth=False)
    async def standin_reset(request: Request) -> Response:
        port.reset()
        return ok()

    @route("/_standin/seed", ["POST"], auth=False)
    async def standin_seed(request: Request) -> Response:
        body = await json_object(request)
        body.setdefault("baseUrl", base_url(request))
        return ok({"seeded": port.seed(body)})

    @route("/_standin/config", ["GET", "POST"], auth=False)
    async def standin_config(request: Request) -> Response:
        if request.method == "POST":
            _apply_config(port, await json_object(request))
        return JSONResponse(_config(port))

    @route("/_standin/revoke-tokens", ["POST"], auth=False)
    async def standin_revoke(request: Request) -> Response:
        return ok({"revoked": port.auth.revoke_tokens()})

    @route("/_standin/faults", ["GET", "POST", "DELETE"], auth=False)
    async def standin_faults(request: Request) -> Response:
        faults = port.traffic.faults
        if request.method == "POST":
            body = await json_object(request)
            faults.append(
                Fault(
                    method=str(body.get("method", "POST")).upper(),
                    path=str(body["path"]),
                    status=int(body.get("status", 500)),
                    times=int(body.get("times", 1)),
                    body=body.get("body")
                    or {"ok": False, "error": "injected_fault", "message": "injected"},
                )
            )
        elif request.method == "DELETE":
            faults.clear()
        return JSONResponse({"faults": [f.describe() for f in faults]})

    @route("/_standin/integration/{identifier}/resync-request", ["POST"], auth=False)
    async def standin_resync_request(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        return ok({"request": port.integration_store.request_resync(identifier)})


def add_run_control_routes(route: RouteRegistrar, port: PortState) -> None:
    """Action runs: trigger one (as a Port user would) and watch it progress.

    ``POST /_standin/runs`` body: ``action`` (Port action identifier) and/or
    ``actionType`` (the integration's action name, ``ACTION_NAME``; defaults to the
    definition's ``invocationMethod.integrationActionType``), ``properties`` (the
    execution properties Ocean hands the executor), optional ``inputs`` (user
    inputs), ``entity`` (identifier, or ``{identifier, blueprint}``) and
    ``blueprint``, ``userEmail``, ``installationId``.
    """

    @route("/_standin/runs", ["POST"], auth=False)
    async def standin_enqueue_run(request: Request) -> Response:
        run = port.run_trigger.enqueue(await json_object(request))
        return ok({"id": run["id"], "run": run}, status=201)

    @route("/_standin/runs", ["GET"], auth=False)
    async def standin_runs(request: Request) -> Response:
        return JSONResponse(
            {
                "runs": [port.runs.view(run_id) for run_id in port.runs.records],
                "workflowClaims": len(port.workflow_runs.claims),
            }
        )

    @route("/_standin/runs/{run_id}", ["GET"], auth=False)
    async def standin_run(request: Request) -> Response:
        return JSONResponse(port.runs.view(request.path_params["run_id"]))
