"""Where PagerDuty's published schema contradicts its own documentation.

The simulator follows the documentation there, and the response check is
relaxed at exactly these properties (nowhere else):

- ``listOnCalls``: a permanent on-call (a user placed directly on a policy
  level) has ``start``, ``end`` and ``schedule`` null (facts file; the
  ``Oncall`` schema types them as non-nullable).
- ``getIncidentFieldValues`` / ``getServiceCustomFieldValues``: a field's
  ``value`` is the plain value (``"production"``, ``["a", "b"]``), as the
  operations' own OpenAPI examples show; the schema describes a wrapper object.
- ``include[]`` expansion: asked for, PagerDuty replaces a reference by the
  object itself (``type: team`` where the schema's enum says
  ``team_reference``); every response's ``*_reference`` type enums also
  accept the object's type.
- ``oneOf`` in responses is checked as ``anyOf``: the document uses it for
  "a reference or the object" (both match once the object's type is
  accepted) and for ``Channel``, whose branches are not mutually exclusive
  (any realistic channel matches several).
- ``AcknowledgeLogEntry``: its type enum (``acknowledgement_log_entry``)
  contradicts the ``LogEntry`` it extends (``acknowledge_log_entry``), so no
  entry could satisfy both; the simulator sends ``acknowledge_log_entry`` (the
  facts file's name) and the check accepts it.
- ``listChangeEvents`` (and ``listServiceChangeEvents``) ``since``/``until``
  carry ``pattern: "YYYY-MM-DDThh:mm:ssZ"``: a format written out for people
  (the schema's own ``format: date-time`` says the same), which read as a
  regular expression would match no time at all. The request check reads it
  as the format it names (``2026-03-01T12:00:00Z``: a UTC time to the second), so
  it is still stricter than ``format: date-time`` alone.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.pagerduty.contract_schema import Schema

NULL_ONLY: Schema = {"type": "string", "nullable": True, "enum": [None]}
PLAIN_VALUE: Schema = {
    "anyOf": [
        {"type": "string", "nullable": True},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"type": "string"}},
    ]
}
ERRATA: dict[tuple[str, int], tuple[frozenset[str], Schema]] = {
    ("listOnCalls", 200): (frozenset({"start", "end", "schedule"}), NULL_ONLY),
    ("getIncidentFieldValues", 200): (frozenset({"value"}), PLAIN_VALUE),
    ("getServiceCustomFieldValues", 200): (frozenset({"value"}), PLAIN_VALUE),
}


# Patterns the document writes as a format for people, and the regex each names.
FORMAT_PATTERNS: dict[str, str] = {
    "YYYY-MM-DDThh:mm:ssZ": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
}


def request_value_schema(schema: Schema) -> Schema:
    """A parameter's value schema, with a written-out format read as its regex."""
    pattern = schema.get("pattern")
    if not isinstance(pattern, str) or pattern not in FORMAT_PATTERNS:
        return schema
    return {**schema, "pattern": FORMAT_PATTERNS[pattern]}


def response_spec(spec: Schema) -> Schema:
    """A copy of the document whose schemas accept the documented deviations."""
    patched: Schema = copy.deepcopy(spec)
    acknowledge = patched["components"]["schemas"].get("AcknowledgeLogEntry") or {}
    for part in acknowledge.get("allOf") or []:
        kind = (part.get("properties") or {}).get("type") or {}
        if "enum" in kind:
            kind["enum"] = [*kind["enum"], "acknowledge_log_entry"]
    _widen_reference_types(patched["components"])
    _widen_reference_types(patched["paths"])
    return patched


def _widen_reference_types(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _widen_reference_types(item)
        return
    if not isinstance(node, dict):
        return
    enum = node.get("enum")
    if (
        isinstance(enum, list)
        and enum
        and all(isinstance(v, str) and v.endswith("_reference") for v in enum)
    ):
        node["enum"] = enum + [v.removesuffix("_reference") for v in enum]
    if "oneOf" in node and "discriminator" not in node:
        node["anyOf"] = node.pop("oneOf")
    for value in node.values():
        _widen_reference_types(value)


def apply_errata(operation_id: str, status: int, schema: Schema) -> Schema:
    """``schema``, or a copy that also accepts the documented deviation."""
    erratum = ERRATA.get((operation_id, status))
    if erratum is None:
        return schema
    names, alternative = erratum
    patched: Schema = copy.deepcopy(schema)
    _widen(patched, names, alternative)
    return patched


def _widen(node: Any, names: frozenset[str], alternative: Schema) -> None:
    if isinstance(node, list):
        for item in node:
            _widen(item, names, alternative)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        _widen(value, names, alternative)
        if key == "properties" and isinstance(value, dict):
            for name in names & set(value):
                value[name] = {"anyOf": [value[name], alternative]}
