"""PagerDuty's OpenAPI document, inlined and compiled into schema validators.

Schemas are OpenAPI 3.0 dialect (``nullable``, ``readOnly``...), validated with
``openapi-schema-validator``: responses with its read validator, requests with
its plain OAS 3.0 validator (not the write validator: the document marks
``id`` and ``type`` of every reference read-only, yet a write names a service
or a user by exactly such a reference). Response validation
runs on every answer, so it is sped up without changing its verdict:
``oneOf``/``anyOf`` first test branch validity (stopping at a branch's first
error) and remember which instances (by content) passed, so the references an
incident page repeats (service, policy, users, teams) are checked once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    oas30_format_checker,
)
from openapi_schema_validator import _keywords as oas_keywords

SPEC_PATH = Path(__file__).parent / "contract" / "pagerduty-openapi-subset.json"
MEMO_LIMIT = 200_000
REQUIRED_MESSAGE = re.compile(r"'(?P<name>[^']+)' is a required property")
Schema = dict[str, Any]


@lru_cache(maxsize=1)
def load_spec() -> Schema:
    spec: Schema = json.loads(SPEC_PATH.read_text())
    return spec


def resolve_pointer(spec: Schema, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    node: Any = spec
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif part == "oneOf" and part not in node:
            node = node["anyOf"]  # a response copy where oneOf became anyOf (errata)
        else:
            node = node[part]
    return node


class Inliner:
    """Replaces every ``$ref`` by its target (each target inlined once, shared)."""

    def __init__(self, spec: Schema) -> None:
        self.spec = spec
        self._done: dict[str, Any] = {}
        self._active: set[str] = set()

    def inline(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._target(ref)
        return {key: self.inline(value) for key, value in node.items()}

    def _target(self, ref: str) -> Any:
        if ref in self._done:
            return self._done[ref]
        if ref in self._active:
            raise ValueError(f"recursive reference {ref} cannot be inlined")
        self._active.add(ref)
        try:
            self._done[ref] = self.inline(resolve_pointer(self.spec, ref))
        finally:
            self._active.discard(ref)
        return self._done[ref]


# =================================================================== validators
class ValidityMemo:
    """Content-keyed record of (sub)instances a ``oneOf``/``anyOf`` accepted."""

    def __init__(self) -> None:
        self.valid: set[tuple[int, str]] = set()

    def key(self, keyword_value: Any, instance: Any) -> tuple[int, str]:
        return id(keyword_value), json.dumps(instance, sort_keys=True, default=str)

    def remember(self, key: tuple[int, str]) -> None:
        if len(self.valid) >= MEMO_LIMIT:
            self.valid.clear()
        self.valid.add(key)


def _memo_keywords(memo: ValidityMemo) -> dict[str, Any]:
    def one_of(
        validator: Any,
        subschemas: list[Mapping[str, Any]],
        instance: Any,
        schema: Mapping[str, Any],
    ) -> Iterator[ValidationError]:
        if "discriminator" in schema:
            yield from oas_keywords.oneOf(validator, subschemas, instance, schema)
            return
        key = memo.key(subschemas, instance)
        if key in memo.valid:
            return
        passing = 0
        for subschema in subschemas:
            if validator.evolve(schema=subschema).is_valid(instance):
                passing += 1
                if passing > 1:
                    break
        if passing == 1:
            memo.remember(key)
            return
        yield from oas_keywords.oneOf(validator, subschemas, instance, schema)

    def any_of(
        validator: Any,
        subschemas: list[Mapping[str, Any]],
        instance: Any,
        schema: Mapping[str, Any],
    ) -> Iterator[ValidationError]:
        if "discriminator" in schema:
            yield from oas_keywords.anyOf(validator, subschemas, instance, schema)
            return
        key = memo.key(subschemas, instance)
        if key in memo.valid:
            return
        for subschema in subschemas:
            if validator.evolve(schema=subschema).is_valid(instance):
                memo.remember(key)
                return
        yield from oas_keywords.anyOf(validator, subschemas, instance, schema)

    return {"oneOf": one_of, "anyOf": any_of}


class ValidatorFactory:
    """Compiles (inlined) schemas into request and response validators."""

    def __init__(self) -> None:
        self.memo = ValidityMemo()
        self._response_class: Any = extend(  # type: ignore[no-untyped-call]
            OAS30ReadValidator, _memo_keywords(self.memo)
        )

    def for_request(self, schema: Schema) -> Validator:
        validator: Validator = OAS30Validator(
            schema, format_checker=oas30_format_checker
        )
        return validator

    def for_value(self, schema: Schema) -> Validator:
        validator: Validator = OAS30Validator(
            schema, format_checker=oas30_format_checker
        )
        return validator

    def for_response(self, schema: Schema) -> Validator:
        validator: Validator = self._response_class(
            schema, format_checker=oas30_format_checker
        )
        return validator


def error_field(error: ValidationError, prefix: str = "") -> str:
    """The dotted path of the offending field (``a.b[2].c``), named for people."""
    text = prefix
    for part in error.absolute_path:
        text += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if text else str(part))
        )
    if error.validator == "required":
        found = REQUIRED_MESSAGE.search(error.message)
        if found:
            name = found.group("name")
            text = f"{text}.{name}" if text else name
    return text or "(body)"


# =================================================================== unknown properties
def unknown_properties(schema: Any, instance: Any, path: str = "") -> list[str]:
    """Dotted paths of object properties ``schema`` does not list (strict input)."""
    if isinstance(instance, list):
        items = _item_schemas(schema)
        if not items:
            return []
        found: list[str] = []
        for index, item in enumerate(instance):
            found += unknown_properties({"anyOf": items}, item, f"{path}[{index}]")
        return found
    if not isinstance(instance, dict):
        return []
    known, open_ended = _listed_properties(schema)
    if open_ended:
        return []
    found = []
    for name, value in instance.items():
        where = f"{path}.{name}" if path else name
        if name not in known:
            found.append(where)
        else:
            found += unknown_properties({"anyOf": known[name]}, value, where)
    return found


def _branches(schema: Any) -> list[Schema]:
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for keyword in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(keyword) or []:
            out += _branches(sub)
    return out


def _listed_properties(schema: Any) -> tuple[dict[str, list[Schema]], bool]:
    known: dict[str, list[Schema]] = {}
    branches = _branches(schema)
    for branch in branches:
        for name, sub in (branch.get("properties") or {}).items():
            known.setdefault(name, []).append(sub)
        extra = branch.get("additionalProperties")
        if extra is True or isinstance(extra, dict):
            return known, True
    return known, not known


def _item_schemas(schema: Any) -> list[Schema]:
    return [b["items"] for b in _branches(schema) if isinstance(b.get("items"), dict)]
