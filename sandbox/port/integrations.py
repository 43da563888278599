"""``/v1/integration...``: the installation record, its resync state, cursors,
and what Ocean ingests about itself (logs, metrics, kind examples, lake writes)."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.port.common import (
    JSON,
    PortError,
    RouteRegistrar,
    Settings,
    base_url,
    json_body,
    json_object,
    now_iso,
    ok,
)

MAX_KEPT_LOG_RECORDS = 2000
MAX_KEPT_METRIC_RECORDS = 500
MAX_KEPT_EXAMPLES = 10


class IntegrationStore:
    """Integrations by installation id, with the per-integration bookkeeping."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.integrations: dict[str, JSON] = {}
        self.resync_state_history: dict[str, list[JSON]] = {}
        self.resync_requests: dict[str, JSON] = {}
        self.cursors: dict[tuple[str, str, str], JSON] = {}
        self.kind_examples: dict[str, dict[str, list[Any]]] = {}
        self.logs: list[JSON] = []
        self.logs_received = 0
        self.metrics: list[JSON] = []
        self.lake_batches = 0

    def clear(self) -> None:
        for mapping in (
            self.integrations,
            self.resync_state_history,
            self.resync_requests,
            self.cursors,
            self.kind_examples,
        ):
            mapping.clear()
        self.logs.clear()
        self.metrics.clear()
        self.logs_received = 0
        self.lake_batches = 0

    def _defaults(self, identifier: str, base: str) -> JSON:
        stamp = now_iso()
        return {
            "installationId": identifier,
            "identifier": identifier,
            "title": identifier,
            "installationAppType": None,
            "installationType": "OnPrem",
            "version": None,
            "config": {},
            "changelogDestination": {},
            "resyncState": {"status": None, "updatedAt": stamp},
            "statusInfo": {"updatedAt": stamp},
            "arePortResourcesInitialized": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "createdBy": "port-standin",
            "updatedBy": "port-standin",
            "_orgId": self.settings.org_id,
            "_id": f"integration_{secrets.token_hex(6)}",
            "clientId": "",
            "logAttributes": {
                "ingestId": identifier,
                "ingestUrl": f"{base}/v1/integration/{identifier}/logs",
            },
            "metricAttributes": {
                "ingestId": identifier,
                "ingestUrl": f"{base}/v1/integration/{identifier}/metrics",
            },
            "ingestAttributes": {
                "ingestUrl": f"{base}/v1/integration/{identifier}/ingest"
            },
        }

    def get(self, identifier: str) -> JSON:
        integration = self.integrations.get(identifier)
        if integration is None:
            raise PortError(
                404, "not_found", f"Integration {identifier!r} was not found"
            )
        return integration

    def create(self, body: JSON, base: str) -> JSON:
        identifier = body.get("installationId")
        if not isinstance(identifier, str) or not identifier:
            raise PortError(422, "invalid_request", "installationId is required")
        if identifier in self.integrations:
            raise PortError(
                409, "identifier_taken", f"Integration {identifier!r} already exists"
            )
        integration = self._defaults(identifier, base)
        integration.update({k: v for k, v in body.items() if k != "installationId"})
        integration["config"] = body.get("config") or {}
        self.integrations[identifier] = integration
        self.resync_state_history.setdefault(identifier, [])
        return integration

    def patch(self, identifier: str, body: JSON) -> JSON:
        integration = self.get(identifier)
        for key, value in body.items():
            if key in {"installationId", "_id", "_orgId", "createdAt"}:
                continue
            integration[key] = value
        stamp = now_iso()
        integration["updatedAt"] = stamp
        integration["statusInfo"] = {
            **integration.get("statusInfo", {}),
            "updatedAt": stamp,
        }
        return integration

    def patch_config(self, identifier: str, config: Any) -> JSON:
        if not isinstance(config, dict):
            raise PortError(422, "invalid_request", "config must be an object")
        return self.patch(identifier, {"config": config})

    def delete(self, identifier: str) -> None:
        self.get(identifier)
        del self.integrations[identifier]

    def update_resync_state(self, identifier: str, state: JSON) -> JSON:
        integration = self.get(identifier)
        new_state = {
            **(integration.get("resyncState") or {}),
            **state,
            "updatedAt": now_iso(),
        }
        integration["resyncState"] = new_state
        self.resync_state_history.setdefault(identifier, []).append(dict(new_state))
        return integration

    def request_resync(self, identifier: str) -> JSON:
        self.get(identifier)
        request = {
            "id": secrets.token_hex(6),
            "updatedAt": now_iso(),
            "createdAt": now_iso(),
        }
        self.resync_requests[identifier] = request
        return request

    def add_logs(self, logs: list[Any]) -> None:
        self.logs_received += len(logs)
        self.logs.extend(logs)
        del self.logs[:-MAX_KEPT_LOG_RECORDS]

    def add_metric(self, record: JSON) -> None:
        self.metrics.append(record)
        del self.metrics[:-MAX_KEPT_METRIC_RECORDS]

    def seed(self, integrations: Any, base: str) -> int:
        """Store integrations as given over the defaults; returns how many."""
        if isinstance(integrations, dict):
            integrations = [{"installationId": k, **v} for k, v in integrations.items()]
        for raw in integrations:
            identifier = raw.get("installationId") or raw.get("identifier")
            integration = self._defaults(str(identifier), base)
            integration.update(raw)
            self.integrations[str(identifier)] = integration
        return len(integrations)

    def telemetry(self) -> JSON:
        return {
            "received": self.logs_received,
            "logs": self.logs[-200:],
            "metrics": self.metrics[-50:],
            "examples": self.kind_examples,
            "lakeBatches": self.lake_batches,
        }


def _cursor_key(request: Request) -> tuple[str, str, str]:
    return (
        request.path_params["identifier"],
        request.query_params.get("kind", ""),
        request.query_params.get("index", ""),
    )


def add_integration_routes(route: RouteRegistrar, store: IntegrationStore) -> None:
    settings = store.settings

    @route("/v1/integration/provision-enabled", ["GET"])
    async def provision_enabled(request: Request) -> Response:
        return ok({"integrations": list(settings.provision_enabled_integrations)})

    @route("/v1/integration", ["POST"])
    async def create_integration(request: Request) -> Response:
        integration = store.create(await json_object(request), base_url(request))
        return ok({"integration": integration}, status=201)

    @route("/v1/integration/{identifier}", ["GET"])
    async def get_integration(request: Request) -> Response:
        return ok({"integration": store.get(request.path_params["identifier"])})

    @route("/v1/integration/{identifier}", ["PATCH"])
    async def patch_integration(request: Request) -> Response:
        integration = store.patch(
            request.path_params["identifier"], await json_object(request)
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}", ["DELETE"])
    async def delete_integration(request: Request) -> Response:
        store.delete(request.path_params["identifier"])
        return ok()

    @route("/v1/integration/{identifier}/config", ["PATCH"])
    async def patch_integration_config(request: Request) -> Response:
        body = await json_object(request)
        integration = store.patch_config(
            request.path_params["identifier"], body.get("config")
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}/resync-state", ["PATCH"])
    async def resync_state(request: Request) -> Response:
        integration = store.update_resync_state(
            request.path_params["identifier"], await json_object(request)
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}/resync-request", ["GET"])
    async def resync_request(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        store.get(identifier)
        return ok({"request": store.resync_requests.get(identifier)})

    @route("/v1/integration/{identifier}/kinds/{kind}/examples", ["POST"])
    async def kind_examples(request: Request) -> Response:
        body = await json_object(request)
        examples = body.get("examples") or []
        per_kind = store.kind_examples.setdefault(request.path_params["identifier"], {})
        per_kind[request.path_params["kind"]] = list(examples)[:MAX_KEPT_EXAMPLES]
        return ok()

    @route("/v1/integration/{identifier}/logs", ["POST"])
    async def ingest_logs(request: Request) -> Response:
        body = await json_object(request)
        store.add_logs(body.get("logs") or [])
        return ok()

    @route("/v1/integration/{identifier}/metrics/syncMetrics", ["POST"])
    async def sync_metrics(request: Request) -> Response:
        store.add_metric({"type": "syncMetrics", "body": await json_body(request)})
        return ok()

    @route("/v1/integration/{identifier}/metrics/heartbeat", ["POST"])
    async def metrics_heartbeat(request: Request) -> Response:
        return ok()

    @route(
        "/v1/integration/{identifier}/metrics/syncMetrics/resync/{event_id}/kind/{kind:path}",
        ["PUT"],
    )
    async def kind_metrics(request: Request) -> Response:
        store.add_metric(
            {
                "type": "kindMetrics",
                "kind": request.path_params["kind"],
                "body": await json_body(request),
            }
        )
        return ok()

    @route("/v1/integration/{identifier}/ingest/lake/write/{rest:path}", ["POST"])
    async def lake_write(request: Request) -> Response:
        await json_body(request)
        store.lake_batches += 1
        return ok()

    @route("/v1/integration/{identifier}/cursor", ["GET"])
    async def get_cursor(request: Request) -> Response:
        return ok({"cursor": store.cursors.get(_cursor_key(request))})

    @route("/v1/integration/{identifier}/cursor", ["PUT", "POST"])
    async def put_cursor(request: Request) -> Response:
        key = _cursor_key(request)
        store.cursors[key] = await json_object(request)
        return ok({"cursor": store.cursors[key]})
