"""``/v1/actions/runs...``: action runs as Ocean's actions processor uses them.

Ocean 0.56.2 (``ActionsClientMixin``) calls, in the order a run lives:

- ``POST  /v1/actions/runs/claim-pending`` ``{installationId, limit, visibilityTimeoutMs,
  exclude?}`` -> ``{runs: [run]}``: pending runs of that installation; a claimed run
  is invisible to other claims for ``visibilityTimeoutMs`` unless acknowledged.
- ``PATCH /v1/actions/runs/ack`` ``{runId}``: the run is this worker's; 409 when
  already acknowledged (Ocean's ``RunAlreadyAcknowledgedError``).
- ``POST  /v1/actions/runs/{id}/logs`` ``{message, statusLabel?, terminationStatus?}``.
- ``PATCH /v1/actions/runs/{id}`` ``{status?, statusLabel?, summary?, link?,
  externalRunId?, reauthRequired?}``.
- ``GET   /v1/actions/runs?version=v2&external_run_id=X`` -> ``{runs: [run]}``.

Claim and ack carry ``x-port-reserved-usage: true``; without it they answer 403.
Runs are created through the control API (``POST /_standin/runs``), standing in
for a user clicking the action in Port.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

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

IN_PROGRESS = "IN_PROGRESS"
TERMINAL_STATUSES = ("SUCCESS", "FAILURE")
PATCH_FIELDS = {
    "status",
    "statusLabel",
    "summary",
    "link",
    "externalRunId",
    "reauthRequired",
}
LOG_FIELDS = {"message", "statusLabel", "terminationStatus"}
RESERVED_USAGE_HEADER = "x-port-reserved-usage"


@dataclass
class RunRecord:
    """A run as Port shows it (``run``) plus what only the stand-in tracks."""

    run: JSON
    logs: list[JSON] = field(default_factory=list)
    status_history: list[JSON] = field(default_factory=list)
    claims: list[JSON] = field(default_factory=list)
    patches: list[JSON] = field(default_factory=list)
    acknowledged_at: str | None = None
    invisible_until: float = 0.0

    @property
    def in_progress(self) -> bool:
        return bool(self.run["status"] == IN_PROGRESS)


def _string_or_none(body: JSON, key: str) -> None:
    if key in body and body[key] is not None and not isinstance(body[key], str):
        raise PortError(422, "invalid_request", f"{key} must be a string")


def _check_fields(body: JSON, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise PortError(
            422,
            "invalid_request",
            f"Unknown fields {unknown}; allowed: {sorted(allowed)}",
        )


def _terminal_status(value: Any, key: str) -> str:
    if value not in TERMINAL_STATUSES:
        raise PortError(
            422, "invalid_request", f"{key} must be one of {list(TERMINAL_STATUSES)}"
        )
    return str(value)


def _links(value: Any) -> list[str]:
    links = value if isinstance(value, list) else [value]
    if not all(isinstance(link, str) for link in links):
        raise PortError(422, "invalid_request", "link must be a string or strings")
    return [str(link) for link in links]


def as_version(run: JSON, version: str | None) -> JSON:
    """``version=v1`` answers the action as its identifier; v2 as an object."""
    out = copy.deepcopy(run)
    if version == "v1":
        out["action"] = run["action"]["identifier"]
    return out


class RunStore:
    """Action runs by id, in creation order."""

    def __init__(self) -> None:
        self.records: dict[str, RunRecord] = {}

    def clear(self) -> None:
        self.records.clear()

    def record(self, run_id: str) -> RunRecord:
        record = self.records.get(run_id)
        if record is None:
            raise PortError(404, "not_found", f"Action run {run_id!r} was not found")
        return record

    def add(self, run: JSON) -> RunRecord:
        """Store a new IN_PROGRESS run (see ``triggers.RunTrigger``)."""
        record = RunRecord(run=run)
        record.status_history.append({"status": run["status"], "at": run["createdAt"]})
        self.records[run["id"]] = record
        return record

    # ---------------------------------------------------- the processor's API
    def claim_pending(self, body: JSON) -> list[JSON]:
        installation = body.get("installationId")
        limit = body.get("limit")
        timeout_ms = body.get("visibilityTimeoutMs")
        exclude = body.get("exclude") or []
        if not isinstance(installation, str) or not installation:
            raise PortError(422, "invalid_request", "installationId is required")
        for key, value in (("limit", limit), ("visibilityTimeoutMs", timeout_ms)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PortError(
                    422, "invalid_request", f"{key} must be an integer >= 1"
                )
        if not isinstance(exclude, list):
            raise PortError(422, "invalid_request", "exclude must be an array")
        assert isinstance(limit, int) and isinstance(timeout_ms, int)
        now = time.monotonic()
        claimed: list[JSON] = []
        for record in self.records.values():
            if len(claimed) >= limit:
                break
            run = record.run
            if (
                run["payload"]["installationId"] != installation
                or not record.in_progress
                or record.acknowledged_at is not None
                or record.invisible_until > now
                or run["action"]["identifier"] in exclude
            ):
                continue
            record.invisible_until = now + timeout_ms / 1000
            record.claims.append({"at": now_iso(), "visibilityTimeoutMs": timeout_ms})
            claimed.append(copy.deepcopy(run))
        return claimed

    def acknowledge(self, run_id: Any) -> None:
        if not isinstance(run_id, str) or not run_id:
            raise PortError(422, "invalid_request", "runId is required")
        record = self.record(run_id)
        if record.acknowledged_at is not None or not record.in_progress:
            raise PortError(
                409, "run_already_acknowledged", f"Run {run_id!r} was acknowledged"
            )
        record.acknowledged_at = now_iso()

    def _set_status(self, record: RunRecord, status: str, author: str) -> None:
        if not record.in_progress:
            raise PortError(
                422,
                "invalid_request",
                f"Run {record.run['id']!r} already ended as {record.run['status']}",
            )
        stamp = now_iso()
        record.run["status"] = status
        record.run["endedAt"] = stamp
        record.status_history.append(
            {"status": status, "statusLabel": record.run["statusLabel"], "at": stamp}
        )
        record.run["updatedBy"] = author

    def patch(self, run_id: str, body: JSON, author: str) -> JSON:
        record = self.record(run_id)
        _check_fields(body, PATCH_FIELDS)
        for key in ("statusLabel", "summary", "externalRunId"):
            _string_or_none(body, key)
        if "reauthRequired" in body and not isinstance(body["reauthRequired"], bool):
            raise PortError(422, "invalid_request", "reauthRequired must be a boolean")
        status = (
            _terminal_status(body["status"], "status") if "status" in body else None
        )
        links = _links(body["link"]) if "link" in body else []
        run = record.run
        for key in ("statusLabel", "summary", "externalRunId", "reauthRequired"):
            if key in body:
                run[key] = body[key]
        run["link"] = run["link"] + [link for link in links if link not in run["link"]]
        if status is not None:
            self._set_status(record, status, author)
        run["updatedAt"] = now_iso()
        run["updatedBy"] = author
        record.patches.append({"at": run["updatedAt"], "body": copy.deepcopy(body)})
        return copy.deepcopy(run)

    def add_log(self, run_id: str, body: JSON, author: str) -> JSON:
        record = self.record(run_id)
        _check_fields(body, LOG_FIELDS)
        message = body.get("message")
        if not isinstance(message, str):
            raise PortError(422, "invalid_request", "message must be a string")
        _string_or_none(body, "statusLabel")
        termination = body.get("terminationStatus")
        if termination is not None:
            termination = _terminal_status(termination, "terminationStatus")
        log: JSON = {"message": message, "createdAt": now_iso(), "createdBy": author}
        if body.get("statusLabel") is not None:
            log["statusLabel"] = body["statusLabel"]
            record.run["statusLabel"] = body["statusLabel"]
        if termination is not None:
            log["terminationStatus"] = termination
            self._set_status(record, termination, author)
        record.logs.append(log)
        return copy.deepcopy(log)

    def find(self, query: dict[str, str]) -> list[JSON]:
        """``GET /v1/actions/runs`` filters, newest first."""
        found: list[JSON] = []
        for record in reversed(self.records.values()):
            run = record.run
            if "external_run_id" in query and (
                run["externalRunId"] != query["external_run_id"]
            ):
                continue
            if "active" in query and record.in_progress != (
                query["active"].lower() == "true"
            ):
                continue
            if "action" in query and run["action"]["identifier"] != query["action"]:
                continue
            if "entity" in query and (run["entity"] or {}).get("identifier") != (
                query["entity"]
            ):
                continue
            if "blueprint" in query and (run["blueprint"] or {}).get("identifier") != (
                query["blueprint"]
            ):
                continue
            found.append(as_version(run, query.get("version")))
        limit = query.get("limit", "")
        return found[: int(limit)] if limit.isdigit() else found

    # --------------------------------------------------------- control view
    def view(self, run_id: str) -> JSON:
        record = self.record(run_id)
        return {
            "run": copy.deepcopy(record.run),
            "status": record.run["status"],
            "statusLabel": record.run["statusLabel"],
            "summary": record.run["summary"],
            "link": list(record.run["link"]),
            "logs": copy.deepcopy(record.logs),
            "statusHistory": copy.deepcopy(record.status_history),
            "claims": copy.deepcopy(record.claims),
            "acknowledgedAt": record.acknowledged_at,
            "patches": copy.deepcopy(record.patches),
        }


def require_reserved_usage(request: Request) -> None:
    if request.headers.get(RESERVED_USAGE_HEADER, "").lower() != "true":
        raise PortError(
            403,
            "forbidden",
            f"This route is reserved for integrations ({RESERVED_USAGE_HEADER}: true)",
        )


def add_run_routes(route: RouteRegistrar, store: RunStore) -> None:
    """Register before ``/v1/actions/{identifier}`` (see ``add_action_routes``)."""

    @route("/v1/actions/runs/claim-pending", ["POST"])
    async def claim_pending(request: Request) -> Response:
        require_reserved_usage(request)
        return ok({"runs": store.claim_pending(await json_object(request))})

    # literal path: registered before /v1/actions/runs/{run_id}
    @route("/v1/actions/runs/ack", ["PATCH"])
    async def acknowledge(request: Request) -> Response:
        require_reserved_usage(request)
        body = await json_object(request)
        store.acknowledge(body.get("runId"))
        return ok()

    @route("/v1/actions/runs", ["GET"])
    async def list_runs(request: Request) -> Response:
        return ok({"runs": store.find(dict(request.query_params))})

    @route("/v1/actions/runs/{run_id}", ["GET"])
    async def get_run(request: Request) -> Response:
        run = store.record(request.path_params["run_id"]).run
        return ok({"run": as_version(run, request.query_params.get("version"))})

    @route("/v1/actions/runs/{run_id}", ["PATCH"])
    async def patch_run(request: Request) -> Response:
        run = store.patch(
            request.path_params["run_id"],
            await json_object(request),
            datasource_from(request),
        )
        return ok({"run": run})

    @route("/v1/actions/runs/{run_id}/logs", ["POST"])
    async def add_run_log(request: Request) -> Response:
        log = store.add_log(
            request.path_params["run_id"],
            await json_object(request),
            datasource_from(request),
        )
        return ok({"runLog": log}, status=201)

    @route("/v1/actions/runs/{run_id}/logs", ["GET"])
    async def get_run_logs(request: Request) -> Response:
        record = store.record(request.path_params["run_id"])
        return ok({"runLogs": copy.deepcopy(record.logs)})
