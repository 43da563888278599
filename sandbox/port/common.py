"""Shared pieces of the Port stand-in: types, errors, settings, timestamps, HTTP helpers."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

logger = logging.getLogger("port_standin")

JSON = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Response]]

DEFAULT_BAD_CREDENTIALS: tuple[str, str] = ("bad-client-id", "bad-client-secret")


class RouteRegistrar(Protocol):
    """``route(path, methods, auth=...)`` decorator handed to each API module."""

    def __call__(
        self, path: str, methods: list[str], *, auth: bool = True
    ) -> Callable[[Endpoint], Endpoint]: ...


@dataclass
class Settings:
    """Knobs shared by every store; the control API changes them at run time."""

    strict: bool = False
    bad_credentials: tuple[str, str] | None = DEFAULT_BAD_CREDENTIALS
    feature_flags: list[str] = field(default_factory=list)
    provision_enabled_integrations: list[str] = field(default_factory=list)
    org_id: str = "org_standin"
    builtin_blueprints: bool = True
    # Which timestamp the reconciliation search's ``before`` compares against:
    # "updatedAt" (default), "createdAt", or "" to ignore ``before``.
    before_filter_field: str = "updatedAt"


class PortError(Exception):
    """An error answered to the client with a Port-shaped JSON body."""

    def __init__(
        self, status: int, error: str, message: str, details: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error": self.error, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


def now_iso() -> str:
    """Port-style timestamp: UTC, millisecond precision, ``Z`` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def datasource_for(
    integration_type: str,
    integration_identifier: str,
    version: str = "0.0.0",
    user_agent_type: str = "exporter",
) -> str:
    """The ``$datasource`` Port derives from an Ocean integration's User-Agent."""
    return f"port-ocean/{integration_type}/{version}/{integration_identifier}/{user_agent_type}"


# ------------------------------------------------------------------ HTTP helpers
def bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"true", "1", "yes"}


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise PortError(
            400, "invalid_json", f"Request body is not valid JSON: {err}"
        ) from err


async def json_object(request: Request) -> JSON:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise PortError(422, "invalid_request", "Request body must be a JSON object")
    return body


def datasource_from(request: Request) -> str:
    agent = request.headers.get("user-agent", "")
    return (
        agent if agent.startswith("port-ocean/") else f"port-api/{agent or 'unknown'}"
    )


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def ok(body: JSON | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"ok": True, **(body or {})}, status_code=status)
