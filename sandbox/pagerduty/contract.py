"""The contract: every request and response checked against PagerDuty's OpenAPI.

An operation is known by method and path template. A request may only use the
query parameters the operation lists (array parameters by their ``name[]``
form), must carry its required headers (``From`` on incident writes with an
account API key), and a body the schema accepts with no property it does not
list. A response's status must be documented (errors every operation can
answer, 400/401/403/404/429/5xx, are checked against PagerDuty's error shape)
and its body must match the documented schema.

``Accept`` and ``Content-Type`` are listed as required on (almost) every
operation, bodiless GETs included. Whether PagerDuty refuses a request without
them is not documented, so the stricter reading holds: a header the operation
lists as required must be sent, with a value its schema accepts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema.protocols import Validator

from sandbox.pagerduty.contract_schema import (
    Inliner,
    Schema,
    ValidatorFactory,
    error_field,
    load_spec,
    unknown_properties,
)
from sandbox.pagerduty.errata import (
    apply_errata,
    request_value_schema,
    response_spec,
)

METHODS = ("get", "post", "put", "delete", "patch")
ANY_OPERATION_ERRORS = frozenset({400, 401, 403, 404, 429})
ERROR_SCHEMA_REF = "#/components/responses/Conflict/content/application~1json/schema"
VALID_PAGE_LIMIT = 50_000


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass
class Param:
    name: str
    location: str
    required: bool
    is_array: bool
    comma_separated: bool
    item: Validator
    item_type: str | None


@dataclass
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    query: dict[str, Param] = field(default_factory=dict)
    headers: dict[str, Param] = field(default_factory=dict)
    body: Validator | None = None
    body_schema: Schema | None = None
    body_required: bool = False
    responses: dict[int, Validator | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


class Contract:
    """All operations of the document, compiled once per process."""

    def __init__(self, spec: Schema | None = None) -> None:
        self.spec = spec or load_spec()
        self.factory = ValidatorFactory()
        self._inliner = Inliner(self.spec)
        self._response_inliner = Inliner(response_spec(self.spec))
        self.error_validator = self.factory.for_response(
            self._response_inliner.inline({"$ref": ERROR_SCHEMA_REF})
        )
        self.operations: list[Operation] = []
        for template, item in self.spec["paths"].items():
            shared = item.get("parameters") or []
            for method in METHODS:
                if method in item:
                    self.operations.append(
                        self._compile(method.upper(), template, item[method], shared)
                    )
        self.operations.sort(key=lambda op: _specificity(op.template))
        self.by_id = {op.operation_id: op for op in self.operations}
        self._valid_pages: set[bytes] = set()

    # ----------------------------------------------------------- compiling
    def _compile(
        self, method: str, template: str, raw: Schema, shared: list[Schema]
    ) -> Operation:
        op = Operation(raw["operationId"], method, template, _template_regex(template))
        for raw_param in [*shared, *(raw.get("parameters") or [])]:
            param = self._inliner.inline(raw_param)
            compiled = self._param(param)
            if param["in"] == "query":
                op.query[param["name"]] = compiled
            elif param["in"] == "header":
                op.headers[param["name"].lower()] = compiled
        body = raw.get("requestBody")
        if body:
            body = self._inliner.inline(body)
            schema = (
                (body.get("content") or {}).get("application/json", {}).get("schema")
            )
            if schema is not None:
                op.body_schema = schema
                op.body = self.factory.for_request(schema)
            op.body_required = bool(body.get("required"))
        for status, response in (raw.get("responses") or {}).items():
            inlined: Schema = self._response_inliner.inline(response) or {}
            content = (inlined.get("content") or {}).get("application/json")
            schema = (content or {}).get("schema")
            if schema is not None:
                schema = apply_errata(op.operation_id, int(status), schema)
            op.responses[int(status)] = (
                None if schema is None else self.factory.for_response(schema)
            )
        return op

    def _param(self, param: Schema) -> Param:
        schema: Schema = param.get("schema") or {}
        is_array = schema.get("type") == "array" or param["name"].endswith("[]")
        raw_item: Schema = (
            schema.get("items") or {} if schema.get("type") == "array" else schema
        )
        item = request_value_schema(
            {k: v for k, v in raw_item.items() if k != "uniqueItems"}
        )
        return Param(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required")),
            is_array=is_array,
            comma_separated=is_array and param.get("explode") is False,
            item=self.factory.for_value(item),
            item_type=item.get("type"),
        )

    # ----------------------------------------------------------- matching
    def match(self, method: str, path: str) -> Match | None:
        for op in self.operations:
            if op.method != method:
                continue
            found = op.pattern.match(path)
            if found:
                return Match(op, found.groupdict())
        return None

    def knows_path(self, path: str) -> bool:
        return any(op.pattern.match(path) for op in self.operations)

    # ----------------------------------------------------------- requests
    def check_request(
        self,
        op: Operation,
        query: Sequence[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        oauth: bool,
    ) -> list[Problem]:
        problems = self._check_query(op, query)
        problems += self._check_headers(op, headers, bool(body), oauth)
        problems += self._check_body(op, body)
        return problems

    def _check_query(
        self, op: Operation, query: Sequence[tuple[str, str]]
    ) -> list[Problem]:
        problems: list[Problem] = []
        values: dict[str, list[str]] = {}
        for name, value in query:
            values.setdefault(name, []).append(value)
        for name, given in values.items():
            param = op.query.get(name)
            if param is None:
                hint = f" (use {name}[])" if f"{name}[]" in op.query else ""
                problems.append(Problem(name, f"unknown query parameter {name}{hint}"))
                continue
            problems += _check_values(param, given)
        for name, param in op.query.items():
            if param.required and name not in values:
                problems.append(Problem(name, f"query parameter {name} is required"))
        return problems

    def _check_headers(
        self, op: Operation, headers: dict[str, str], has_body: bool, oauth: bool
    ) -> list[Problem]:
        problems: list[Problem] = []
        content_type = headers.get("content-type")
        if (
            has_body
            and content_type
            and not content_type.startswith("application/json")
        ):
            problems.append(
                Problem(
                    "Content-Type",
                    f"Content-Type {content_type!r} is not application/json",
                )
            )
        for name, param in op.headers.items():
            value = headers.get(name)
            if value is None:
                if param.required and not (name == "from" and oauth):
                    problems.append(
                        Problem(param.name, f"header {param.name} is required")
                    )
                continue
            problems += _check_values(param, [value])
        return problems

    def _check_body(self, op: Operation, raw: bytes) -> list[Problem]:
        if not raw.strip():
            if op.body_required:
                return [Problem("(body)", "a request body is required")]
            return []
        if op.body is None:
            return [Problem("(body)", "this operation takes no request body")]
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return [Problem("(body)", "the request body is not valid JSON")]
        problems = [
            Problem(error_field(error), error.message)
            for error in op.body.iter_errors(body)
        ]
        problems += [
            Problem(where, f"{where} is not a property this operation accepts")
            for where in unknown_properties(op.body_schema, body)
        ]
        return problems

    # ----------------------------------------------------------- responses
    def check_response(
        self, op: Operation, status: int, body: Any, raw: bytes
    ) -> list[Problem]:
        if status in op.responses:
            validator = op.responses[status]
            if validator is None and status >= 400:
                # Documented without a schema ("review the response for error
                # details"): PagerDuty's error shape.
                validator = self.error_validator
        elif status in ANY_OPERATION_ERRORS or status >= 500:
            validator = self.error_validator
        else:
            return [Problem("status", f"status {status} is not documented")]
        if validator is None:
            if raw.strip():
                return [Problem("(body)", f"status {status} documents no body")]
            return []
        if body is None:
            return [Problem("(body)", f"status {status} must have a JSON body")]
        digest = hashlib.blake2b(
            op.operation_id.encode() + str(status).encode() + raw, digest_size=16
        ).digest()
        if digest in self._valid_pages:
            return []
        problems = [
            Problem(error_field(error), error.message[:300])
            for error in validator.iter_errors(body)
        ]
        if not problems:
            if len(self._valid_pages) >= VALID_PAGE_LIMIT:
                self._valid_pages.clear()
            self._valid_pages.add(digest)
        return problems


def _check_values(param: Param, given: list[str]) -> list[Problem]:
    if len(given) > 1 and not param.is_array:
        return [Problem(param.name, f"{param.name} is given more than once")]
    values = [
        part
        for value in given
        for part in (value.split(",") if param.comma_separated else [value])
    ]
    problems: list[Problem] = []
    if param.is_array and len(set(values)) != len(values):
        problems.append(Problem(param.name, f"{param.name} repeats a value"))
    for value in values:
        coerced, ok = _coerce(value, param.item_type)
        if not ok:
            problems.append(
                Problem(
                    param.name,
                    f"{param.name}={value!r} is not a valid {param.item_type}",
                )
            )
            continue
        for error in param.item.iter_errors(coerced):
            problems.append(
                Problem(param.name, f"{param.name}={value!r}: {error.message}")
            )
    return problems


def _coerce(value: str, item_type: str | None) -> tuple[Any, bool]:
    if item_type == "integer":
        try:
            return int(value), True
        except ValueError:
            return value, False
    if item_type == "number":
        try:
            return float(value), True
        except ValueError:
            return value, False
    if item_type == "boolean":
        if value in ("true", "false"):
            return value == "true", True
        return value, False
    return value, True


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{([^}/]+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def _specificity(template: str) -> tuple[int, tuple[int, ...]]:
    segments = template.strip("/").split("/")
    return len(segments), tuple(1 if s.startswith("{") else 0 for s in segments)
