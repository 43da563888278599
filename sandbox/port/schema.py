"""Comparing an entity payload with its blueprint's schema, the way Port does."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any
from urllib.parse import urlparse

from sandbox.port.common import JSON, parse_iso


def format_ok(fmt: str, value: str) -> bool:
    if fmt in {"date-time", "timer"}:
        return parse_iso(value) is not None
    if fmt == "url":
        parsed = urlparse(value)
        return parsed.scheme in {"http", "https"} and bool(parsed.netloc)
    if fmt == "email":
        return "@" in value and "." in value.rsplit("@", 1)[-1]
    if fmt == "ipv4":
        try:
            return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
        except ValueError:
            return False
    if fmt == "ipv6":
        try:
            return isinstance(ipaddress.ip_address(value), ipaddress.IPv6Address)
        except ValueError:
            return False
    if fmt in {"user", "team"}:
        return bool(value.strip())
    return True


def check_value_type(schema: JSON, value: Any) -> tuple[str, str] | None:
    """Return (mismatch kind, message) when value does not fit the property schema."""
    if value is None:
        return None
    expected = schema.get("type")
    enum = schema.get("enum")
    if expected == "string":
        if not isinstance(value, str):
            return "wrong_type", f"expected string, got {type(value).__name__}"
        fmt = schema.get("format")
        if fmt and not format_ok(fmt, value):
            return "bad_format", f"value {value!r} is not a valid {fmt}"
        if isinstance(enum, list) and value not in enum:
            return "enum_mismatch", f"value {value!r} is not one of {enum}"
        return None
    if expected == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "wrong_type", f"expected number, got {type(value).__name__}"
        if isinstance(enum, list) and value not in enum:
            return "enum_mismatch", f"value {value!r} is not one of {enum}"
        return None
    if expected == "boolean":
        if not isinstance(value, bool):
            return "wrong_type", f"expected boolean, got {type(value).__name__}"
        return None
    if expected == "object":
        if not isinstance(value, dict):
            return "wrong_type", f"expected object, got {type(value).__name__}"
        return None
    if expected == "array":
        if not isinstance(value, list):
            return "wrong_type", f"expected array, got {type(value).__name__}"
        items = schema.get("items")
        if isinstance(items, dict) and items.get("type"):
            for index, item in enumerate(value):
                problem = check_value_type(items, item)
                if problem is not None:
                    return problem[0], f"item {index}: {problem[1]}"
        return None
    return None


def _problem(kind: str, field: str, message: str, expected: Any, got: Any) -> JSON:
    return {
        "kind": kind,
        "field": field,
        "message": message,
        "expected": expected,
        "got": got,
    }


def _property_problems(
    blueprint: JSON, entity: JSON, existing: JSON | None, merge: bool
) -> list[JSON]:
    problems: list[JSON] = []
    blueprint_id = blueprint.get("identifier")
    schema_props: JSON = blueprint["schema"].get("properties", {})
    properties = entity.get("properties") or {}
    if not isinstance(properties, dict):
        problems.append(
            _problem(
                "wrong_type",
                "properties",
                "properties must be an object",
                "object",
                properties,
            )
        )
        properties = {}
    for name, value in properties.items():
        prop_schema = schema_props.get(name)
        if prop_schema is None:
            problems.append(
                _problem(
                    "unknown_property",
                    f"properties.{name}",
                    f"property {name!r} is not defined in blueprint {blueprint_id!r}",
                    sorted(schema_props),
                    value,
                )
            )
            continue
        problem = check_value_type(prop_schema, value)
        if problem is not None:
            expected = {
                k: prop_schema[k]
                for k in ("type", "format", "enum")
                if k in prop_schema
            }
            problems.append(
                _problem(problem[0], f"properties.{name}", problem[1], expected, value)
            )
    required = blueprint["schema"].get("required") or []
    present = set(properties)
    if merge and existing is not None:
        present |= {
            k for k, v in existing.get("properties", {}).items() if v is not None
        }
    for name in required:
        if name not in present or (name in properties and properties[name] is None):
            problems.append(
                _problem(
                    "missing_required",
                    f"properties.{name}",
                    f"required property {name!r} is missing",
                    "value",
                    None,
                )
            )
    return problems


def _relation_value_problems(name: str, relation: JSON, value: Any) -> list[JSON]:
    problems: list[JSON] = []
    many = bool(relation.get("many"))
    if value is None or isinstance(value, dict):
        return problems
    field = f"relations.{name}"
    if many and not isinstance(value, list):
        problems.append(
            _problem(
                "relation_many_mismatch",
                field,
                f"relation {name!r} is many=true but got a single value",
                "array of identifiers",
                value,
            )
        )
    elif not many and isinstance(value, list):
        problems.append(
            _problem(
                "relation_many_mismatch",
                field,
                f"relation {name!r} is many=false but got a list",
                "single identifier",
                value,
            )
        )
    targets = value if isinstance(value, list) else [value]
    for target in targets:
        if not isinstance(target, (str, dict)):
            problems.append(
                _problem(
                    "wrong_type",
                    field,
                    f"relation value {target!r} is not an identifier",
                    "string",
                    target,
                )
            )
    return problems


def _relation_problems(
    blueprint: JSON,
    blueprint_ids: Collection[str],
    entity: JSON,
    existing: JSON | None,
    merge: bool,
) -> list[JSON]:
    problems: list[JSON] = []
    blueprint_id = blueprint.get("identifier")
    relations = entity.get("relations") or {}
    if not isinstance(relations, dict):
        problems.append(
            _problem(
                "wrong_type",
                "relations",
                "relations must be an object",
                "object",
                relations,
            )
        )
        relations = {}
    for name, value in relations.items():
        relation = blueprint["relations"].get(name)
        if relation is None:
            problems.append(
                _problem(
                    "unknown_relation",
                    f"relations.{name}",
                    f"relation {name!r} is not defined in blueprint {blueprint_id!r}",
                    sorted(blueprint["relations"]),
                    value,
                )
            )
            continue
        if relation.get("target") not in blueprint_ids:
            problems.append(
                _problem(
                    "relation_target_blueprint_missing",
                    f"relations.{name}",
                    f"relation {name!r} targets missing blueprint {relation.get('target')!r}",
                    relation.get("target"),
                    value,
                )
            )
        problems.extend(_relation_value_problems(name, relation, value))
    for required_name, relation in blueprint["relations"].items():
        if relation.get("required") and relations.get(required_name) in (None, []):
            if (
                merge
                and existing is not None
                and existing.get("relations", {}).get(required_name)
            ):
                continue
            problems.append(
                _problem(
                    "missing_required",
                    f"relations.{required_name}",
                    f"required relation {required_name!r} is missing",
                    "value",
                    None,
                )
            )
    return problems


def validate_entity(
    blueprint: JSON,
    blueprint_ids: Collection[str],
    entity: JSON,
    existing: JSON | None,
    merge: bool,
) -> list[JSON]:
    """Compare an entity payload with its (normalized) blueprint; returns the problems.

    Missing relation *targets* (entities) are the upsert's business, not this check's.
    """
    return _property_problems(blueprint, entity, existing, merge) + _relation_problems(
        blueprint, blueprint_ids, entity, existing, merge
    )
