"""PagerDuty's error answers (``{"error": {...}}``) and JSON responses."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.store import JsonDict


class ApiError(Exception):
    """An error answered with PagerDuty's ``{"error": {...}}`` body."""

    def __init__(
        self, status: int, code: int, message: str, errors: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)

    def body(self) -> JsonDict:
        error: JsonDict = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(self.body(), self.status, headers)


def invalid_input(*errors: str) -> NoReturn:
    raise ApiError(400, 2001, "Invalid Input Provided", errors)


def not_found() -> NoReturn:
    raise ApiError(404, 2100, "Not Found")


AUTH_ERROR = ApiError(401, 2006, "Authentication failed")
FORBIDDEN_ERROR = ApiError(403, 2010, "Access Denied")
RATE_LIMIT_ERROR = ApiError(429, 2020, "Rate Limit Exceeded")
INTERNAL_ERROR = ApiError(500, 2000, "Internal Error")


class JsonBody(Response):
    """A JSON response that keeps the Python body for contract checks."""

    media_type = "application/json"

    def __init__(
        self, body: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.json_body = body
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        super().__init__(raw, status_code, headers)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JsonBody:
    return JsonBody(body, status, headers)


def empty_response(status: int) -> Response:
    return Response(status_code=status)


async def read_json(request: Request) -> JsonDict:
    """The request's JSON object body ({} when empty); 400 when not an object."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        invalid_input("Request body is not valid JSON")
    if not isinstance(parsed, dict):
        invalid_input("Request body must be a JSON object")
    return parsed


def lookup(table: dict[str, JsonDict], request: Request, key: str = "id") -> JsonDict:
    obj = table.get(request.path_params[key])
    if obj is None:
        not_found()
    return obj
