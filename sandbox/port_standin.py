"""A local stand-in for Port's REST API, shaped after what port-ocean 0.56.2 calls.

Run it as ``python -m sandbox.port_standin --port 0 --ready-file PATH --dump PATH``
and point an Ocean integration at it with ``OCEAN__PORT__BASE_URL``.

The stand-in keeps an in-memory catalog (blueprints, entities, integrations) and
answers the endpoints the Ocean framework uses on start-up, resync and shutdown.
Entities are checked against their blueprint schema; by default a mismatch is
*recorded* (see ``GET /_standin/mismatches``) and the entity stored anyway, with
``strict=True`` it is rejected the way Port rejects it (HTTP 422).

A control API under ``/_standin/`` (no auth) exposes and seeds the state.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import ipaddress
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

logger = logging.getLogger("port_standin")

JSON = dict[str, Any]
Endpoint = Callable[[Request], Awaitable[Response]]

DEFAULT_BAD_CREDENTIALS: tuple[str, str] = ("bad-client-id", "bad-client-secret")
TOKEN_TTL_SECONDS = 3600
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]+$")
MAX_IDENTIFIER_LENGTH = 1000
PROPERTY_TYPES = {"string", "number", "boolean", "object", "array"}
BUILTIN_BLUEPRINTS: tuple[JSON, ...] = (
    {
        "identifier": "_user",
        "title": "User",
        "icon": "User",
        "schema": {"properties": {}, "required": []},
        "relations": {},
    },
    {
        "identifier": "_team",
        "title": "Team",
        "icon": "Team",
        "schema": {"properties": {}, "required": []},
        "relations": {},
    },
)
MAX_KEPT_LOG_RECORDS = 2000
MAX_KEPT_METRIC_RECORDS = 500
MAX_KEPT_EXAMPLES = 10


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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(client_id: str, org_id: str) -> str:
    """An unsigned JWT-shaped token; Ocean decodes it without verifying."""
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "clientId": client_id,
        "orgId": org_id,
        "isMachine": True,
        "iat": int(time.time()),
        "exp": int(time.time()) + TOKEN_TTL_SECONDS,
        "jti": secrets.token_hex(8),
    }
    parts = [
        _b64url(json.dumps(header).encode()),
        _b64url(json.dumps(payload).encode()),
        _b64url(secrets.token_bytes(16)),
    ]
    return ".".join(parts)


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


@dataclass
class UpsertOptions:
    merge: bool = True
    create_missing_related_entities: bool = True
    validation_only: bool = False
    upsert: bool = True


@dataclass
class UpsertResult:
    entity: JSON
    created: bool


@dataclass
class Fault:
    """Make the next ``times`` requests to ``method path-template`` fail."""

    method: str
    path: str
    status: int
    times: int
    body: JSON


@dataclass
class PortState:
    """The whole in-memory Port organisation the stand-in serves."""

    strict: bool = False
    bad_credentials: tuple[str, str] | None = DEFAULT_BAD_CREDENTIALS
    feature_flags: list[str] = field(default_factory=list)
    provision_enabled_integrations: list[str] = field(default_factory=list)
    org_id: str = "org_standin"
    builtin_blueprints: bool = True
    # Which timestamp the reconciliation search's ``before`` compares against:
    # "updatedAt" (default), "createdAt", or "" to ignore ``before``.
    before_filter_field: str = "updatedAt"

    blueprints: dict[str, JSON] = field(default_factory=dict)
    entities: dict[str, dict[str, JSON]] = field(default_factory=dict)
    datasources: dict[tuple[str, str], str] = field(default_factory=dict)
    integrations: dict[str, JSON] = field(default_factory=dict)
    resync_state_history: dict[str, list[JSON]] = field(default_factory=dict)
    resync_requests: dict[str, JSON] = field(default_factory=dict)
    cursors: dict[tuple[str, str, str], JSON] = field(default_factory=dict)
    mismatches: dict[tuple[str, str, str, str], JSON] = field(default_factory=dict)
    stubs_created: list[JSON] = field(default_factory=list)
    deleted_entities: list[JSON] = field(default_factory=list)
    actions: dict[str, JSON] = field(default_factory=dict)
    scorecards: dict[str, list[JSON]] = field(default_factory=dict)
    pages: dict[str, JSON] = field(default_factory=dict)
    migrations: dict[str, JSON] = field(default_factory=dict)
    kind_examples: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    logs: list[JSON] = field(default_factory=list)
    logs_received: int = 0
    metrics: list[JSON] = field(default_factory=list)
    lake_batches: int = 0
    tokens: dict[str, float] = field(default_factory=dict)
    request_counts: Counter[str] = field(default_factory=Counter)
    unknown_requests: list[JSON] = field(default_factory=list)
    unauthorized_requests: int = 0
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._install_builtins()

    # ------------------------------------------------------------------ setup
    def _install_builtins(self) -> None:
        if not self.builtin_blueprints:
            return
        for blueprint in BUILTIN_BLUEPRINTS:
            if blueprint["identifier"] not in self.blueprints:
                self.blueprints[blueprint["identifier"]] = self._normalize_blueprint(
                    copy.deepcopy(blueprint)
                )

    def reset(self) -> None:
        """Forget the catalog and the bookkeeping; keep settings and issued tokens."""
        for name in (
            "blueprints",
            "entities",
            "datasources",
            "integrations",
            "resync_state_history",
            "resync_requests",
            "cursors",
            "mismatches",
            "actions",
            "scorecards",
            "pages",
            "migrations",
            "kind_examples",
        ):
            getattr(self, name).clear()
        for list_name in (
            "stubs_created",
            "deleted_entities",
            "logs",
            "unknown_requests",
            "metrics",
            "faults",
        ):
            getattr(self, list_name).clear()
        self.request_counts.clear()
        self.logs_received = 0
        self.lake_batches = 0
        self.unauthorized_requests = 0
        self._install_builtins()

    # ------------------------------------------------------------------- auth
    def issue_token(self, client_id: str, client_secret: str) -> JSON:
        if not client_id or not client_secret:
            raise PortError(
                422, "invalid_request", "clientId and clientSecret are required"
            )
        if self.bad_credentials is not None and (client_id, client_secret) == tuple(
            self.bad_credentials
        ):
            raise PortError(401, "unauthorized", "Invalid client credentials")
        token = make_token(client_id, self.org_id)
        self.tokens[token] = time.time() + TOKEN_TTL_SECONDS
        return {
            "ok": True,
            "accessToken": token,
            "expiresIn": TOKEN_TTL_SECONDS,
            "tokenType": "Bearer",
        }

    def check_token(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        expires = self.tokens.get(token.strip())
        return expires is not None and expires > time.time()

    def revoke_tokens(self) -> int:
        count = len(self.tokens)
        self.tokens.clear()
        return count

    # ------------------------------------------------------------- mismatches
    def record_mismatch(
        self,
        *,
        blueprint: str,
        identifier: str,
        kind: str,
        field_name: str,
        message: str,
        expected: Any = None,
        got: Any = None,
        datasource: str | None = None,
        rejected: bool = False,
    ) -> JSON:
        key = (blueprint, identifier, kind, field_name)
        existing = self.mismatches.get(key)
        if existing is not None:
            existing["count"] += 1
            existing["lastSeen"] = now_iso()
            existing["got"] = got
            existing["rejected"] = rejected
            return existing
        record: JSON = {
            "blueprint": blueprint,
            "identifier": identifier,
            "kind": kind,
            "field": field_name,
            "expected": expected,
            "got": got,
            "message": message,
            "datasource": datasource,
            "rejected": rejected,
            "count": 1,
            "firstSeen": now_iso(),
            "lastSeen": now_iso(),
        }
        self.mismatches[key] = record
        logger.warning(
            "schema mismatch [%s] %s/%s %s: %s",
            kind,
            blueprint,
            identifier,
            field_name,
            message,
        )
        return record

    def mismatch_report(self) -> JSON:
        items = list(self.mismatches.values())
        by_kind: Counter[str] = Counter(item["kind"] for item in items)
        return {
            "strict": self.strict,
            "count": len(items),
            "byKind": dict(by_kind),
            "mismatches": items,
        }

    # ------------------------------------------------------------- blueprints
    @staticmethod
    def _normalize_blueprint(raw: JSON) -> JSON:
        blueprint = dict(raw)
        schema = dict(blueprint.get("schema") or {})
        schema.setdefault("properties", {})
        schema.setdefault("required", [])
        blueprint["schema"] = schema
        relations: JSON = {}
        for name, relation in (blueprint.get("relations") or {}).items():
            rel = dict(relation)
            rel.setdefault("title", name)
            rel.setdefault("many", False)
            rel.setdefault("required", False)
            relations[name] = rel
        blueprint["relations"] = relations
        blueprint.setdefault("title", blueprint.get("identifier"))
        blueprint.setdefault("team", None)
        for key in (
            "mirrorProperties",
            "calculationProperties",
            "aggregationProperties",
        ):
            blueprint.setdefault(key, {})
        return blueprint

    def _check_blueprint_relations(self, blueprint: JSON) -> None:
        identifier = str(blueprint.get("identifier"))
        for name, relation in blueprint.get("relations", {}).items():
            target = relation.get("target")
            if target != identifier and target not in self.blueprints:
                self.record_mismatch(
                    blueprint=identifier,
                    identifier="",
                    kind="blueprint_relation_target_missing",
                    field_name=f"relations.{name}",
                    message=f"relation {name} targets blueprint {target!r} which does not exist",
                    expected="existing blueprint",
                    got=target,
                    rejected=True,
                )
                raise PortError(
                    404,
                    "not_found",
                    f"Relation {name!r} of blueprint {identifier!r} targets missing blueprint {target!r}",
                )

    def create_blueprint(self, raw: JSON) -> JSON:
        identifier = raw.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise PortError(422, "invalid_request", "Blueprint identifier is required")
        if identifier in self.blueprints:
            raise PortError(
                409,
                "identifier_taken",
                f"A blueprint with identifier {identifier!r} already exists",
            )
        blueprint = self._normalize_blueprint(raw)
        self._check_blueprint_relations(blueprint)
        stamp = now_iso()
        blueprint["createdAt"] = stamp
        blueprint["updatedAt"] = stamp
        self.blueprints[identifier] = blueprint
        self.entities.setdefault(identifier, {})
        return blueprint

    def get_blueprint(self, identifier: str) -> JSON:
        blueprint = self.blueprints.get(identifier)
        if blueprint is None:
            raise PortError(404, "not_found", f"Blueprint {identifier!r} was not found")
        return blueprint

    def patch_blueprint(self, identifier: str, raw: JSON) -> JSON:
        current = self.get_blueprint(identifier)
        merged = {**current, **raw, "identifier": identifier}
        blueprint = self._normalize_blueprint(merged)
        self._check_blueprint_relations(blueprint)
        blueprint["updatedAt"] = now_iso()
        self.blueprints[identifier] = blueprint
        return blueprint

    def delete_blueprint(self, identifier: str) -> None:
        self.get_blueprint(identifier)
        if self.entities.get(identifier):
            raise PortError(
                409,
                "has_dependents",
                f"Blueprint {identifier!r} still has {len(self.entities[identifier])} entities",
            )
        for other_id, other in self.blueprints.items():
            if other_id == identifier:
                continue
            for relation in other.get("relations", {}).values():
                if relation.get("target") == identifier:
                    raise PortError(
                        409,
                        "has_dependents",
                        f"Blueprint {other_id!r} has a relation to {identifier!r}",
                    )
        del self.blueprints[identifier]
        self.entities.pop(identifier, None)

    def delete_all_entities(self, identifier: str, delete_blueprint: bool) -> str:
        self.get_blueprint(identifier)
        for entity_id in list(self.entities.get(identifier, {})):
            self._remove_entity(identifier, entity_id, reason="all-entities")
        migration_id = f"migration_{secrets.token_hex(6)}"
        self.migrations[migration_id] = {
            "id": migration_id,
            "actor": "port-standin",
            "sourceBlueprint": identifier,
            "mapping": {},
            "status": "COMPLETED",
        }
        if delete_blueprint:
            self.delete_blueprint(identifier)
        return migration_id

    # --------------------------------------------------------------- entities
    def _find_entity(self, blueprint: str, identifier: str) -> JSON | None:
        return self.entities.get(blueprint, {}).get(identifier)

    def _resolve_search_identifier(self, blueprint: str, query: Any) -> str | None:
        """Resolve a search identifier / search relation (a rules query) to one identifier."""
        if not isinstance(query, dict):
            return None
        matches = [
            entity_id
            for entity_id, entity in self.entities.get(blueprint, {}).items()
            if self._matches(entity, query)
        ]
        return matches[0] if len(matches) == 1 else None

    def _check_value_type(self, schema: JSON, value: Any) -> tuple[str, str] | None:
        """Return (mismatch kind, message) when value does not fit the property schema."""
        if value is None:
            return None
        expected = schema.get("type")
        if expected == "string":
            if not isinstance(value, str):
                return "wrong_type", f"expected string, got {type(value).__name__}"
            fmt = schema.get("format")
            if fmt and not _format_ok(fmt, value):
                return "bad_format", f"value {value!r} is not a valid {fmt}"
            enum = schema.get("enum")
            if isinstance(enum, list) and value not in enum:
                return "enum_mismatch", f"value {value!r} is not one of {enum}"
            return None
        if expected == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return "wrong_type", f"expected number, got {type(value).__name__}"
            enum = schema.get("enum")
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
                    problem = self._check_value_type(items, item)
                    if problem is not None:
                        return problem[0], f"item {index}: {problem[1]}"
            return None
        return None

    def validate_entity(
        self, blueprint_id: str, entity: JSON, existing: JSON | None, merge: bool
    ) -> list[JSON]:
        """Compare an entity payload with its blueprint; returns the problems found.

        Missing relation targets are handled by ``_resolve_relations``.
        """
        problems: list[JSON] = []
        blueprint = self.blueprints[blueprint_id]
        schema_props: JSON = blueprint["schema"].get("properties", {})
        properties = entity.get("properties") or {}
        if not isinstance(properties, dict):
            problems.append(
                {
                    "kind": "wrong_type",
                    "field": "properties",
                    "message": "properties must be an object",
                    "expected": "object",
                    "got": properties,
                }
            )
            properties = {}
        for name, value in properties.items():
            prop_schema = schema_props.get(name)
            if prop_schema is None:
                problems.append(
                    {
                        "kind": "unknown_property",
                        "field": f"properties.{name}",
                        "message": f"property {name!r} is not defined in blueprint {blueprint_id!r}",
                        "expected": sorted(schema_props),
                        "got": value,
                    }
                )
                continue
            problem = self._check_value_type(prop_schema, value)
            if problem is not None:
                problems.append(
                    {
                        "kind": problem[0],
                        "field": f"properties.{name}",
                        "message": problem[1],
                        "expected": {
                            k: prop_schema[k]
                            for k in ("type", "format", "enum")
                            if k in prop_schema
                        },
                        "got": value,
                    }
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
                    {
                        "kind": "missing_required",
                        "field": f"properties.{name}",
                        "message": f"required property {name!r} is missing",
                        "expected": "value",
                        "got": None,
                    }
                )

        relations = entity.get("relations") or {}
        if not isinstance(relations, dict):
            problems.append(
                {
                    "kind": "wrong_type",
                    "field": "relations",
                    "message": "relations must be an object",
                    "expected": "object",
                    "got": relations,
                }
            )
            relations = {}
        for name, value in relations.items():
            relation = blueprint["relations"].get(name)
            if relation is None:
                problems.append(
                    {
                        "kind": "unknown_relation",
                        "field": f"relations.{name}",
                        "message": f"relation {name!r} is not defined in blueprint {blueprint_id!r}",
                        "expected": sorted(blueprint["relations"]),
                        "got": value,
                    }
                )
                continue
            if relation.get("target") not in self.blueprints:
                problems.append(
                    {
                        "kind": "relation_target_blueprint_missing",
                        "field": f"relations.{name}",
                        "message": f"relation {name!r} targets missing blueprint {relation.get('target')!r}",
                        "expected": relation.get("target"),
                        "got": value,
                    }
                )
            many = bool(relation.get("many"))
            if value is None or isinstance(value, dict):
                continue
            if many and not isinstance(value, list):
                problems.append(
                    {
                        "kind": "relation_many_mismatch",
                        "field": f"relations.{name}",
                        "message": f"relation {name!r} is many=true but got a single value",
                        "expected": "array of identifiers",
                        "got": value,
                    }
                )
            elif not many and isinstance(value, list):
                problems.append(
                    {
                        "kind": "relation_many_mismatch",
                        "field": f"relations.{name}",
                        "message": f"relation {name!r} is many=false but got a list",
                        "expected": "single identifier",
                        "got": value,
                    }
                )
            targets = value if isinstance(value, list) else [value]
            for target in targets:
                if not isinstance(target, (str, dict)):
                    problems.append(
                        {
                            "kind": "wrong_type",
                            "field": f"relations.{name}",
                            "message": f"relation value {target!r} is not an identifier",
                            "expected": "string",
                            "got": target,
                        }
                    )
        for required_name, relation in blueprint["relations"].items():
            if relation.get("required") and relations.get(required_name) in (None, []):
                if (
                    merge
                    and existing is not None
                    and existing.get("relations", {}).get(required_name)
                ):
                    continue
                problems.append(
                    {
                        "kind": "missing_required",
                        "field": f"relations.{required_name}",
                        "message": f"required relation {required_name!r} is missing",
                        "expected": "value",
                        "got": None,
                    }
                )
        return problems

    def _resolve_relations(
        self,
        blueprint_id: str,
        identifier: str,
        relations: JSON,
        options: UpsertOptions,
        datasource: str | None,
    ) -> tuple[JSON, list[tuple[str, str]]]:
        """Resolve search relations and find missing targets.

        Returns the resolved relations and the (target blueprint, identifier)
        pairs that do not exist yet.
        """
        blueprint = self.blueprints[blueprint_id]
        resolved: JSON = {}
        missing: list[tuple[str, str]] = []
        for name, value in relations.items():
            relation = blueprint["relations"].get(name)
            if relation is None or relation.get("target") not in self.blueprints:
                resolved[name] = value
                continue
            target_bp = str(relation["target"])
            values = value if isinstance(value, list) else [value]
            out: list[Any] = []
            for item in values:
                if isinstance(item, dict):
                    found = self._resolve_search_identifier(target_bp, item)
                    if found is None:
                        raise PortError(
                            404,
                            "not_found",
                            f"Search relation {name!r} of {blueprint_id}/{identifier} matched no single entity",
                        )
                    out.append(found)
                    continue
                if (
                    isinstance(item, str)
                    and self._find_entity(target_bp, item) is None
                    and (target_bp, item) not in missing
                ):
                    missing.append((target_bp, item))
                out.append(item)
            resolved[name] = (
                out if isinstance(value, list) else (out[0] if out else None)
            )
        return resolved, missing

    def upsert_entity(
        self,
        blueprint_id: str,
        payload: JSON,
        options: UpsertOptions | None = None,
        datasource: str | None = None,
    ) -> UpsertResult:
        """Upsert one entity the way Port's ``POST /v1/blueprints/{bp}/entities`` does."""
        options = options or UpsertOptions()
        if blueprint_id not in self.blueprints:
            self.record_mismatch(
                blueprint=blueprint_id,
                identifier=str(payload.get("identifier")),
                kind="unknown_blueprint",
                field_name="blueprint",
                message=f"blueprint {blueprint_id!r} does not exist",
                got=blueprint_id,
                datasource=datasource,
                rejected=True,
            )
            raise PortError(
                404, "not_found", f"Blueprint {blueprint_id!r} was not found"
            )
        if not isinstance(payload, dict):
            raise PortError(422, "invalid_request", "entity must be an object")

        raw_identifier = payload.get("identifier")
        if isinstance(raw_identifier, dict):
            found = self._resolve_search_identifier(blueprint_id, raw_identifier)
            if found is None:
                raise PortError(
                    404,
                    "not_found",
                    f"Search identifier matched no single entity in {blueprint_id!r}",
                )
            identifier = found
        elif isinstance(raw_identifier, str) and raw_identifier:
            identifier = raw_identifier
        else:
            self.record_mismatch(
                blueprint=blueprint_id,
                identifier=str(raw_identifier),
                kind="invalid_identifier",
                field_name="identifier",
                message=f"identifier must be a non-empty string, got {raw_identifier!r}",
                got=raw_identifier,
                datasource=datasource,
                rejected=True,
            )
            raise PortError(
                422, "invalid_request", f"Invalid identifier {raw_identifier!r}"
            )
        if len(identifier) > MAX_IDENTIFIER_LENGTH or not IDENTIFIER_RE.match(
            identifier
        ):
            self.record_mismatch(
                blueprint=blueprint_id,
                identifier=identifier,
                kind="invalid_identifier",
                field_name="identifier",
                message=f"identifier {identifier!r} does not match {IDENTIFIER_RE.pattern}",
                got=identifier,
                datasource=datasource,
                rejected=True,
            )
            raise PortError(
                422, "invalid_request", f"Invalid identifier {identifier!r}"
            )

        existing = self._find_entity(blueprint_id, identifier)
        if existing is not None and not options.upsert:
            raise PortError(
                409,
                "identifier_taken",
                f"Entity {identifier!r} of {blueprint_id!r} already exists",
            )

        problems = self.validate_entity(blueprint_id, payload, existing, options.merge)
        for problem in problems:
            self.record_mismatch(
                blueprint=blueprint_id,
                identifier=identifier,
                kind=problem["kind"],
                field_name=problem["field"],
                message=problem["message"],
                expected=problem.get("expected"),
                got=problem.get("got"),
                datasource=datasource,
                rejected=self.strict,
            )
        if problems and self.strict:
            raise PortError(
                422,
                "schema_mismatch",
                "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                details=problems,
            )

        relations_in = (
            payload.get("relations")
            if isinstance(payload.get("relations"), dict)
            else {}
        )
        relations, missing = self._resolve_relations(
            blueprint_id, identifier, relations_in or {}, options, datasource
        )
        if missing and not options.create_missing_related_entities:
            for target_bp, target_id in missing:
                self.record_mismatch(
                    blueprint=blueprint_id,
                    identifier=identifier,
                    kind="relation_target_entity_missing",
                    field_name=f"relations->{target_bp}",
                    message=f"related entity {target_bp}/{target_id} does not exist",
                    expected="existing entity",
                    got=target_id,
                    datasource=datasource,
                    rejected=True,
                )
            target_bp, target_id = missing[0]
            raise PortError(
                404,
                "not_found",
                f"Related entity with identifier {target_id!r} of blueprint {target_bp!r} was not found",
            )

        stamp = now_iso()
        properties = (
            payload.get("properties")
            if isinstance(payload.get("properties"), dict)
            else {}
        )
        team = payload.get("team", None)
        if isinstance(team, str):
            team = [team]

        if options.merge and existing is not None:
            entity = copy.deepcopy(existing)
            entity["properties"] = {
                **entity.get("properties", {}),
                **(properties or {}),
            }
            entity["relations"] = {**entity.get("relations", {}), **relations}
            for key in ("title", "icon"):
                if key in payload:
                    entity[key] = payload[key]
            if "team" in payload:
                entity["team"] = team if team is not None else []
        else:
            entity = {
                "identifier": identifier,
                "title": payload.get("title"),
                "icon": payload.get("icon"),
                "blueprint": blueprint_id,
                "team": team if team is not None else [],
                "properties": dict(properties or {}),
                "relations": relations,
                "createdAt": existing["createdAt"] if existing else stamp,
                "createdBy": (
                    existing["createdBy"]
                    if existing
                    else (datasource or "port-standin")
                ),
            }
        entity["identifier"] = identifier
        entity["blueprint"] = blueprint_id
        if existing is not None and _same_content(existing, entity):
            # Port leaves an entity untouched when an upsert changes nothing.
            entity["updatedAt"] = existing.get("updatedAt", stamp)
            entity["updatedBy"] = existing.get(
                "updatedBy", datasource or "port-standin"
            )
        else:
            entity["updatedAt"] = stamp
            entity["updatedBy"] = datasource or "port-standin"

        if options.validation_only:
            return UpsertResult(entity=entity, created=existing is None)

        for target_bp, target_id in missing:
            stub: JSON = {
                "identifier": target_id,
                "title": None,
                "icon": None,
                "blueprint": target_bp,
                "team": [],
                "properties": {},
                "relations": {},
                "createdAt": stamp,
                "createdBy": datasource or "port-standin",
                "updatedAt": stamp,
                "updatedBy": datasource or "port-standin",
            }
            self.entities.setdefault(target_bp, {})[target_id] = stub
            # Port attributes auto-created related entities to the creating
            # datasource; Ocean's reconciliation (_safe_delete) expects that.
            if datasource is not None:
                self.datasources[(target_bp, target_id)] = datasource
            self.stubs_created.append(
                {
                    "blueprint": target_bp,
                    "identifier": target_id,
                    "by": f"{blueprint_id}/{identifier}",
                }
            )
            logger.info("created missing related entity %s/%s", target_bp, target_id)

        self.entities.setdefault(blueprint_id, {})[identifier] = entity
        if datasource is not None:
            self.datasources[(blueprint_id, identifier)] = datasource
        return UpsertResult(entity=entity, created=existing is None)

    def bulk_upsert(
        self,
        blueprint_id: str,
        payloads: list[Any],
        options: UpsertOptions | None = None,
        datasource: str | None = None,
    ) -> JSON:
        """``POST /v1/blueprints/{bp}/entities/bulk``: per-entity results and errors."""
        if blueprint_id not in self.blueprints:
            raise PortError(
                404, "not_found", f"Blueprint {blueprint_id!r} was not found"
            )
        results: list[JSON] = []
        errors: list[JSON] = []
        for index, payload in enumerate(payloads):
            raw_id = payload.get("identifier") if isinstance(payload, dict) else None
            try:
                outcome = self.upsert_entity(blueprint_id, payload, options, datasource)
            except PortError as err:
                errors.append(
                    {
                        "identifier": raw_id if isinstance(raw_id, str) else "unknown",
                        "index": index,
                        "statusCode": err.status,
                        "error": err.error,
                        "message": err.message,
                    }
                )
                continue
            results.append(
                {
                    "identifier": outcome.entity["identifier"],
                    "index": index,
                    "created": outcome.created,
                }
            )
        return {"ok": not errors, "entities": results, "errors": errors}

    def _dependents(
        self, blueprint_id: str, identifier: str
    ) -> list[tuple[str, str, str, bool]]:
        """Entities with a relation to (blueprint_id, identifier): (bp, id, relation, required)."""
        found: list[tuple[str, str, str, bool]] = []
        for bp_id, blueprint in self.blueprints.items():
            for rel_name, relation in blueprint.get("relations", {}).items():
                if relation.get("target") != blueprint_id:
                    continue
                for entity_id, entity in self.entities.get(bp_id, {}).items():
                    value = entity.get("relations", {}).get(rel_name)
                    targets = value if isinstance(value, list) else [value]
                    if identifier in targets:
                        found.append(
                            (bp_id, entity_id, rel_name, bool(relation.get("required")))
                        )
        return found

    def _remove_entity(self, blueprint_id: str, identifier: str, reason: str) -> None:
        entity = self.entities.get(blueprint_id, {}).pop(identifier, None)
        if entity is None:
            return
        datasource = self.datasources.pop((blueprint_id, identifier), None)
        self.deleted_entities.append(
            {
                "blueprint": blueprint_id,
                "identifier": identifier,
                "datasource": datasource,
                "reason": reason,
                "at": now_iso(),
            }
        )

    def delete_entity(
        self, blueprint_id: str, identifier: str, delete_dependents: bool
    ) -> list[str]:
        """Delete one entity; returns every (``bp/id``) removed, dependents included."""
        self.get_blueprint(blueprint_id)
        if self._find_entity(blueprint_id, identifier) is None:
            raise PortError(
                404,
                "not_found",
                f"Entity {identifier!r} of blueprint {blueprint_id!r} was not found",
            )
        dependents = self._dependents(blueprint_id, identifier)
        removed = [f"{blueprint_id}/{identifier}"]
        if delete_dependents:
            self._remove_entity(blueprint_id, identifier, reason="delete")
            for dep_bp, dep_id, _, _ in dependents:
                if self._find_entity(dep_bp, dep_id) is not None:
                    removed.extend(
                        self.delete_entity(dep_bp, dep_id, delete_dependents=True)
                    )
            return removed
        blocking = [d for d in dependents if d[3]]
        if blocking:
            raise PortError(
                409,
                "has_dependents",
                f"Entity {identifier!r} is required by {[f'{b}/{i}' for b, i, _, _ in blocking]}",
            )
        self._remove_entity(blueprint_id, identifier, reason="delete")
        for dep_bp, dep_id, rel_name, _ in dependents:
            dep = self.entities[dep_bp][dep_id]
            value = dep["relations"].get(rel_name)
            dep["relations"][rel_name] = (
                [v for v in value if v != identifier]
                if isinstance(value, list)
                else None
            )
        return removed

    def bulk_delete(
        self, blueprint_id: str, identifiers: list[Any], delete_dependents: bool
    ) -> list[str]:
        self.get_blueprint(blueprint_id)
        deleted: list[str] = []
        for identifier in identifiers:
            if not isinstance(identifier, str):
                continue
            try:
                self.delete_entity(blueprint_id, identifier, delete_dependents)
            except PortError as err:
                logger.info(
                    "bulk delete skipped %s/%s: %s",
                    blueprint_id,
                    identifier,
                    err.message,
                )
                continue
            deleted.append(identifier)
        return deleted

    # ----------------------------------------------------------------- search
    def _field_value(self, entity: JSON, name: str) -> Any:
        if name == "$datasource":
            return self.datasources.get((entity["blueprint"], entity["identifier"]))
        if name.startswith("$"):
            return entity.get(name[1:])
        return entity.get("properties", {}).get(name)

    def _matches(self, entity: JSON, rule: JSON) -> bool:
        if "combinator" in rule:
            children = rule.get("rules") or []
            outcomes = (self._matches(entity, child) for child in children)
            if str(rule["combinator"]).lower() == "or":
                return any(outcomes)
            return all(outcomes)
        operator = rule.get("operator")
        value = rule.get("value")
        if "relation" in rule and "property" not in rule:
            actual: Any = entity.get("relations", {}).get(rule["relation"])
        elif "property" in rule:
            actual = self._field_value(entity, str(rule["property"]))
        else:
            raise PortError(422, "invalid_request", f"Unsupported search rule {rule!r}")
        return _apply_operator(operator, actual, value)

    def search(self, query: JSON, include: list[str] | None = None) -> list[JSON]:
        blueprint_filter = _blueprint_equals(query)
        blueprint_ids: Iterable[str] = (
            [blueprint_filter] if blueprint_filter is not None else list(self.entities)
        )
        found: list[JSON] = []
        for bp_id in blueprint_ids:
            for entity in self.entities.get(bp_id, {}).values():
                if self._matches(entity, query):
                    found.append(_project(entity, include))
        return found

    def datasource_entities(
        self,
        prefix: str,
        suffix: str,
        limit: int,
        before: str | None,
        cursor: str | None,
    ) -> JSON:
        before_dt = parse_iso(before) if before else None
        matched: list[JSON] = []
        for bp_id in sorted(self.entities):
            for entity_id in sorted(self.entities[bp_id]):
                datasource = self.datasources.get((bp_id, entity_id))
                if (
                    datasource is None
                    or not datasource.startswith(prefix)
                    or not datasource.endswith(suffix)
                ):
                    continue
                entity = self.entities[bp_id][entity_id]
                if before_dt is not None and self.before_filter_field:
                    stamp = parse_iso(str(entity.get(self.before_filter_field, "")))
                    if stamp is not None and stamp >= before_dt:
                        continue
                matched.append(entity)
        start = int(cursor) if cursor and cursor.isdigit() else 0
        limit = max(1, limit)
        page = matched[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(matched) else None
        return {
            "ok": True,
            "entities": [copy.deepcopy(e) for e in page],
            "next": next_cursor,
        }

    # ----------------------------------------------------------- integrations
    def _integration_defaults(self, identifier: str, base_url: str) -> JSON:
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
            "_orgId": self.org_id,
            "_id": f"integration_{secrets.token_hex(6)}",
            "clientId": "",
            "logAttributes": {
                "ingestId": identifier,
                "ingestUrl": f"{base_url}/v1/integration/{identifier}/logs",
            },
            "metricAttributes": {
                "ingestId": identifier,
                "ingestUrl": f"{base_url}/v1/integration/{identifier}/metrics",
            },
            "ingestAttributes": {
                "ingestUrl": f"{base_url}/v1/integration/{identifier}/ingest"
            },
        }

    def get_integration(self, identifier: str) -> JSON:
        integration = self.integrations.get(identifier)
        if integration is None:
            raise PortError(
                404, "not_found", f"Integration {identifier!r} was not found"
            )
        return integration

    def create_integration(self, body: JSON, base_url: str) -> JSON:
        identifier = body.get("installationId")
        if not isinstance(identifier, str) or not identifier:
            raise PortError(422, "invalid_request", "installationId is required")
        if identifier in self.integrations:
            raise PortError(
                409, "identifier_taken", f"Integration {identifier!r} already exists"
            )
        integration = self._integration_defaults(identifier, base_url)
        integration.update({k: v for k, v in body.items() if k != "installationId"})
        integration["config"] = body.get("config") or {}
        self.integrations[identifier] = integration
        self.resync_state_history.setdefault(identifier, [])
        return integration

    def patch_integration(self, identifier: str, body: JSON) -> JSON:
        integration = self.get_integration(identifier)
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

    def patch_integration_config(self, identifier: str, config: Any) -> JSON:
        if not isinstance(config, dict):
            raise PortError(422, "invalid_request", "config must be an object")
        return self.patch_integration(identifier, {"config": config})

    def update_resync_state(self, identifier: str, state: JSON) -> JSON:
        integration = self.get_integration(identifier)
        new_state = {
            **(integration.get("resyncState") or {}),
            **state,
            "updatedAt": now_iso(),
        }
        integration["resyncState"] = new_state
        self.resync_state_history.setdefault(identifier, []).append(dict(new_state))
        return integration

    def request_resync(self, identifier: str) -> JSON:
        self.get_integration(identifier)
        request = {
            "id": secrets.token_hex(6),
            "updatedAt": now_iso(),
            "createdAt": now_iso(),
        }
        self.resync_requests[identifier] = request
        return request

    # ---------------------------------------------------------------- seeding
    def seed(self, body: JSON) -> JSON:
        """Load blueprints, entities and integrations directly, bypassing the API checks."""
        counts = {"blueprints": 0, "entities": 0, "integrations": 0}
        blueprints = body.get("blueprints") or []
        if isinstance(blueprints, dict):
            blueprints = list(blueprints.values())
        for raw in blueprints:
            blueprint = self._normalize_blueprint(raw)
            stamp = now_iso()
            blueprint.setdefault("createdAt", stamp)
            blueprint.setdefault("updatedAt", stamp)
            self.blueprints[blueprint["identifier"]] = blueprint
            self.entities.setdefault(blueprint["identifier"], {})
            counts["blueprints"] += 1
        default_datasource = body.get("datasource")
        entities = body.get("entities") or []
        if isinstance(entities, dict):
            entities = [e for per_bp in entities.values() for e in per_bp.values()]
        for raw in entities:
            blueprint_id = raw["blueprint"]
            identifier = raw["identifier"]
            if blueprint_id not in self.blueprints:
                raise PortError(
                    404, "not_found", f"Blueprint {blueprint_id!r} was not found"
                )
            stamp = now_iso()
            entity: JSON = {
                "identifier": identifier,
                "title": raw.get("title"),
                "icon": raw.get("icon"),
                "blueprint": blueprint_id,
                "team": raw.get("team") or [],
                "properties": dict(raw.get("properties") or {}),
                "relations": dict(raw.get("relations") or {}),
                "createdAt": raw.get("createdAt", stamp),
                "createdBy": raw.get("createdBy", "seed"),
                "updatedAt": raw.get("updatedAt", stamp),
                "updatedBy": raw.get("updatedBy", "seed"),
            }
            self.entities.setdefault(blueprint_id, {})[identifier] = entity
            datasource = raw.get("datasource", default_datasource)
            if datasource:
                self.datasources[(blueprint_id, identifier)] = str(datasource)
            else:
                self.datasources.pop((blueprint_id, identifier), None)
            counts["entities"] += 1
        integrations = body.get("integrations") or []
        if isinstance(integrations, dict):
            integrations = [{"installationId": k, **v} for k, v in integrations.items()]
        base_url = str(body.get("baseUrl", "http://127.0.0.1"))
        for raw in integrations:
            identifier = raw.get("installationId") or raw.get("identifier")
            integration = self._integration_defaults(str(identifier), base_url)
            integration.update(raw)
            self.integrations[str(identifier)] = integration
            counts["integrations"] += 1
        return counts

    # ---------------------------------------------------------------- exports
    def catalog(self) -> JSON:
        datasources: dict[str, dict[str, str]] = {}
        for (bp_id, entity_id), datasource in self.datasources.items():
            datasources.setdefault(bp_id, {})[entity_id] = datasource
        return copy.deepcopy(
            {
                "blueprints": self.blueprints,
                "entities": self.entities,
                "integrations": self.integrations,
                "datasources": datasources,
                "actions": self.actions,
                "scorecards": self.scorecards,
                "pages": self.pages,
            }
        )

    def requests_report(self) -> JSON:
        return {
            "counts": dict(sorted(self.request_counts.items())),
            "total": sum(self.request_counts.values()),
            "unknown": list(self.unknown_requests),
            "unknownCount": len(self.unknown_requests),
            "unauthorized": self.unauthorized_requests,
        }


# ---------------------------------------------------------------------- helpers
def _format_ok(fmt: str, value: str) -> bool:
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


def _same_content(old: JSON, new: JSON) -> bool:
    keys = ("title", "icon", "team", "properties", "relations")
    return all(old.get(key) == new.get(key) for key in keys)


def _apply_operator(operator: Any, actual: Any, value: Any) -> bool:
    if operator == "=":
        return bool(actual == value)
    if operator == "!=":
        return bool(actual != value)
    if operator == "in":
        values = value if isinstance(value, list) else [value]
        if isinstance(actual, list):
            return any(item in values for item in actual)
        return actual in values
    if operator == "notIn":
        values = value if isinstance(value, list) else [value]
        return actual not in values
    if operator == "contains":
        if isinstance(actual, str) and isinstance(value, str):
            return value in actual
        if isinstance(actual, list):
            return value in actual
        return False
    if operator == "doesNotContains":
        return not _apply_operator("contains", actual, value)
    if operator == "beginsWith":
        return (
            isinstance(actual, str)
            and isinstance(value, str)
            and actual.startswith(value)
        )
    if operator == "endsWith":
        return (
            isinstance(actual, str)
            and isinstance(value, str)
            and actual.endswith(value)
        )
    if operator == "isEmpty":
        return actual in (None, "", [], {})
    if operator == "isNotEmpty":
        return actual not in (None, "", [], {})
    if operator in {">", "<", ">=", "<="}:
        try:
            if operator == ">":
                return bool(actual > value)
            if operator == "<":
                return bool(actual < value)
            if operator == ">=":
                return bool(actual >= value)
            return bool(actual <= value)
        except TypeError:
            return False
    raise PortError(422, "invalid_request", f"Unsupported search operator {operator!r}")


def _blueprint_equals(query: JSON) -> str | None:
    """If an AND query pins ``$blueprint`` with ``=``, return it (a cheap pre-filter)."""
    if str(query.get("combinator", "and")).lower() != "and":
        return None
    for rule in query.get("rules") or []:
        if rule.get("property") == "$blueprint" and rule.get("operator") == "=":
            value = rule.get("value")
            return value if isinstance(value, str) else None
    return None


def _project(entity: JSON, include: list[str] | None) -> JSON:
    if not include:
        return copy.deepcopy(entity)
    out: JSON = {}
    for path in include:
        head, _, rest = path.partition(".")
        if not rest:
            if head in entity:
                out[head] = copy.deepcopy(entity[head])
            continue
        container = entity.get(head)
        if isinstance(container, dict) and rest in container:
            out.setdefault(head, {})[rest] = copy.deepcopy(container[rest])
    return out


def _bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"true", "1", "yes"}


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise PortError(
            400, "invalid_json", f"Request body is not valid JSON: {err}"
        ) from err


async def _json_object(request: Request) -> JSON:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise PortError(422, "invalid_request", "Request body must be a JSON object")
    return body


def _datasource_from(request: Request) -> str:
    agent = request.headers.get("user-agent", "")
    return (
        agent if agent.startswith("port-ocean/") else f"port-api/{agent or 'unknown'}"
    )


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def ok(body: JSON | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"ok": True, **(body or {})}, status_code=status)


# ------------------------------------------------------------------------- app
def create_app(state: PortState | None = None) -> Starlette:
    """Build the ASGI app; the state is reachable as ``app.state.port``."""
    port = state if state is not None else PortState()
    routes: list[Route] = []

    def route(
        path: str, methods: list[str], *, auth: bool = True
    ) -> Callable[[Endpoint], Endpoint]:
        def register(handler: Endpoint) -> Endpoint:
            for method in methods:
                key = f"{method} {path}"

                async def endpoint(
                    request: Request, _key: str = key, _method: str = method
                ) -> Response:
                    if not path.startswith("/_standin"):
                        port.request_counts[_key] += 1
                    if auth and not port.check_token(
                        request.headers.get("authorization")
                    ):
                        port.unauthorized_requests += 1
                        return JSONResponse(
                            {
                                "ok": False,
                                "error": "unauthorized",
                                "message": "Missing or invalid bearer token",
                            },
                            status_code=401,
                        )
                    for fault in port.faults:
                        if (
                            fault.times > 0
                            and fault.method == _method
                            and fault.path == path
                        ):
                            fault.times -= 1
                            logger.warning(
                                "injecting fault %s -> %s", _key, fault.status
                            )
                            return JSONResponse(fault.body, status_code=fault.status)
                    try:
                        return await handler(request)
                    except PortError as err:
                        return JSONResponse(err.body(), status_code=err.status)

                routes.append(Route(path, endpoint, methods=[method]))
            return handler

        return register

    # --- auth -------------------------------------------------------------
    @route("/v1/auth/access_token", ["POST"], auth=False)
    async def access_token(request: Request) -> Response:
        body = await _json_object(request)
        return JSONResponse(
            port.issue_token(
                str(body.get("clientId") or ""), str(body.get("clientSecret") or "")
            )
        )

    # --- organization -----------------------------------------------------
    @route("/v1/organization", ["GET"])
    async def organization(request: Request) -> Response:
        return ok(
            {
                "organization": {
                    "id": port.org_id,
                    "name": "Port stand-in",
                    "featureFlags": list(port.feature_flags),
                    "isBlocked": False,
                }
            }
        )

    # --- integrations -----------------------------------------------------
    @route("/v1/integration/provision-enabled", ["GET"])
    async def provision_enabled(request: Request) -> Response:
        return ok({"integrations": list(port.provision_enabled_integrations)})

    @route("/v1/integration", ["POST"])
    async def create_integration(request: Request) -> Response:
        integration = port.create_integration(
            await _json_object(request), _base_url(request)
        )
        return ok({"integration": integration}, status=201)

    @route("/v1/integration/{identifier}", ["GET"])
    async def get_integration(request: Request) -> Response:
        return ok(
            {"integration": port.get_integration(request.path_params["identifier"])}
        )

    @route("/v1/integration/{identifier}", ["PATCH"])
    async def patch_integration(request: Request) -> Response:
        integration = port.patch_integration(
            request.path_params["identifier"], await _json_object(request)
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}", ["DELETE"])
    async def delete_integration(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        port.get_integration(identifier)
        del port.integrations[identifier]
        return ok()

    @route("/v1/integration/{identifier}/config", ["PATCH"])
    async def patch_integration_config(request: Request) -> Response:
        body = await _json_object(request)
        integration = port.patch_integration_config(
            request.path_params["identifier"], body.get("config")
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}/resync-state", ["PATCH"])
    async def resync_state(request: Request) -> Response:
        integration = port.update_resync_state(
            request.path_params["identifier"], await _json_object(request)
        )
        return ok({"integration": integration})

    @route("/v1/integration/{identifier}/resync-request", ["GET"])
    async def resync_request(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        port.get_integration(identifier)
        return ok({"request": port.resync_requests.get(identifier)})

    @route("/v1/integration/{identifier}/kinds/{kind}/examples", ["POST"])
    async def kind_examples(request: Request) -> Response:
        body = await _json_object(request)
        examples = body.get("examples") or []
        per_kind = port.kind_examples.setdefault(request.path_params["identifier"], {})
        per_kind[request.path_params["kind"]] = list(examples)[:MAX_KEPT_EXAMPLES]
        return ok()

    @route("/v1/integration/{identifier}/logs", ["POST"])
    async def ingest_logs(request: Request) -> Response:
        body = await _json_object(request)
        logs = body.get("logs") or []
        port.logs_received += len(logs)
        port.logs.extend(logs)
        del port.logs[:-MAX_KEPT_LOG_RECORDS]
        return ok()

    @route("/v1/integration/{identifier}/metrics/syncMetrics", ["POST"])
    async def sync_metrics(request: Request) -> Response:
        port.metrics.append({"type": "syncMetrics", "body": await _json_body(request)})
        del port.metrics[:-MAX_KEPT_METRIC_RECORDS]
        return ok()

    @route("/v1/integration/{identifier}/metrics/heartbeat", ["POST"])
    async def metrics_heartbeat(request: Request) -> Response:
        return ok()

    @route(
        "/v1/integration/{identifier}/metrics/syncMetrics/resync/{event_id}/kind/{kind:path}",
        ["PUT"],
    )
    async def kind_metrics(request: Request) -> Response:
        port.metrics.append(
            {
                "type": "kindMetrics",
                "kind": request.path_params["kind"],
                "body": await _json_body(request),
            }
        )
        del port.metrics[:-MAX_KEPT_METRIC_RECORDS]
        return ok()

    @route("/v1/integration/{identifier}/ingest/lake/write/{rest:path}", ["POST"])
    async def lake_write(request: Request) -> Response:
        await _json_body(request)
        port.lake_batches += 1
        return ok()

    @route("/v1/integration/{identifier}/cursor", ["GET"])
    async def get_cursor(request: Request) -> Response:
        key = (
            request.path_params["identifier"],
            request.query_params.get("kind", ""),
            request.query_params.get("index", ""),
        )
        return ok({"cursor": port.cursors.get(key)})

    @route("/v1/integration/{identifier}/cursor", ["PUT", "POST"])
    async def put_cursor(request: Request) -> Response:
        key = (
            request.path_params["identifier"],
            request.query_params.get("kind", ""),
            request.query_params.get("index", ""),
        )
        port.cursors[key] = await _json_object(request)
        return ok({"cursor": port.cursors[key]})

    # --- blueprints -------------------------------------------------------
    @route("/v1/blueprints", ["GET"])
    async def list_blueprints(request: Request) -> Response:
        return ok({"blueprints": list(port.blueprints.values())})

    @route("/v1/blueprints", ["POST"])
    async def create_blueprint(request: Request) -> Response:
        return ok(
            {"blueprint": port.create_blueprint(await _json_object(request))},
            status=201,
        )

    # literal path must be registered before /v1/blueprints/{identifier}/...
    @route("/v1/blueprints/entities/datasource-entities", ["POST"])
    async def datasource_entities(request: Request) -> Response:
        body = await _json_object(request)
        result = port.datasource_entities(
            prefix=str(body.get("datasource_prefix") or ""),
            suffix=str(body.get("datasource_suffix") or ""),
            limit=int(body.get("limit") or 5000),
            before=body.get("before"),
            cursor=body.get("from"),
        )
        return JSONResponse(result)

    @route("/v1/blueprints/{identifier}", ["GET"])
    async def get_blueprint(request: Request) -> Response:
        return ok({"blueprint": port.get_blueprint(request.path_params["identifier"])})

    @route("/v1/blueprints/{identifier}", ["PATCH", "PUT"])
    async def patch_blueprint(request: Request) -> Response:
        blueprint = port.patch_blueprint(
            request.path_params["identifier"], await _json_object(request)
        )
        return ok({"blueprint": blueprint})

    @route("/v1/blueprints/{identifier}", ["DELETE"])
    async def delete_blueprint(request: Request) -> Response:
        port.delete_blueprint(request.path_params["identifier"])
        return ok()

    @route("/v1/blueprints/{identifier}/all-entities", ["DELETE"])
    async def delete_all_entities(request: Request) -> Response:
        migration_id = port.delete_all_entities(
            request.path_params["identifier"],
            _bool_param(request, "delete_blueprint", False),
        )
        return ok({"migrationId": migration_id})

    @route("/v1/migrations/{identifier}", ["GET"])
    async def get_migration(request: Request) -> Response:
        migration = port.migrations.get(request.path_params["identifier"])
        if migration is None:
            raise PortError(404, "not_found", "Migration was not found")
        return ok({"migration": migration})

    @route("/v1/blueprints/{identifier}/scorecards", ["POST"])
    async def create_scorecard(request: Request) -> Response:
        body = await _json_object(request)
        port.get_blueprint(request.path_params["identifier"])
        port.scorecards.setdefault(request.path_params["identifier"], []).append(body)
        return ok({"scorecard": body}, status=201)

    @route("/v1/actions", ["POST"])
    async def create_action(request: Request) -> Response:
        body = await _json_object(request)
        port.actions[str(body.get("identifier"))] = body
        return ok({"action": body}, status=201)

    @route("/v1/pages", ["POST"])
    async def create_page(request: Request) -> Response:
        body = await _json_object(request)
        port.pages[str(body.get("identifier"))] = body
        return ok({"page": body}, status=201)

    @route("/v1/pages/{identifier}", ["DELETE"])
    async def delete_page(request: Request) -> Response:
        if port.pages.pop(request.path_params["identifier"], None) is None:
            raise PortError(404, "not_found", "Page was not found")
        return ok()

    # --- entities ---------------------------------------------------------
    def upsert_options(request: Request) -> UpsertOptions:
        return UpsertOptions(
            merge=_bool_param(request, "merge", False),
            create_missing_related_entities=_bool_param(
                request, "create_missing_related_entities", False
            ),
            validation_only=_bool_param(request, "validation_only", False),
            upsert=_bool_param(request, "upsert", False),
        )

    @route("/v1/blueprints/{blueprint}/entities", ["POST"])
    async def upsert_entity(request: Request) -> Response:
        result = port.upsert_entity(
            request.path_params["blueprint"],
            await _json_object(request),
            upsert_options(request),
            _datasource_from(request),
        )
        return ok({"entity": result.entity}, status=201 if result.created else 200)

    @route("/v1/blueprints/{blueprint}/entities", ["GET"])
    async def list_entities(request: Request) -> Response:
        blueprint = request.path_params["blueprint"]
        port.get_blueprint(blueprint)
        return ok({"entities": list(port.entities.get(blueprint, {}).values())})

    @route("/v1/blueprints/{blueprint}/entities/bulk", ["POST"])
    async def bulk_upsert(request: Request) -> Response:
        body = await _json_object(request)
        entities = body.get("entities")
        if not isinstance(entities, list):
            raise PortError(422, "invalid_request", "body.entities must be an array")
        result = port.bulk_upsert(
            request.path_params["blueprint"],
            entities,
            upsert_options(request),
            _datasource_from(request),
        )
        return JSONResponse(result, status_code=207 if result["errors"] else 200)

    @route("/v1/blueprints/{blueprint}/entities/{identifier:path}", ["GET"])
    async def get_entity(request: Request) -> Response:
        blueprint = request.path_params["blueprint"]
        identifier = request.path_params["identifier"]
        port.get_blueprint(blueprint)
        entity = port.entities.get(blueprint, {}).get(identifier)
        if entity is None:
            raise PortError(404, "not_found", f"Entity {identifier!r} was not found")
        return ok({"entity": entity})

    @route("/v1/blueprints/{blueprint}/entities/{identifier:path}", ["DELETE"])
    async def delete_entity(request: Request) -> Response:
        port.delete_entity(
            request.path_params["blueprint"],
            request.path_params["identifier"],
            _bool_param(request, "delete_dependents", False),
        )
        return ok()

    @route("/v1/blueprints/{blueprint}/bulk/entities/delete", ["POST"])
    async def bulk_delete(request: Request) -> Response:
        body = await _json_object(request)
        identifiers = body.get("entities")
        if not isinstance(identifiers, list):
            raise PortError(422, "invalid_request", "body.entities must be an array")
        deleted = port.bulk_delete(
            request.path_params["blueprint"],
            identifiers,
            _bool_param(request, "delete_dependents", False),
        )
        return ok({"deletedEntities": deleted})

    @route("/v1/entities/search", ["POST"])
    async def search_entities(request: Request) -> Response:
        query = await _json_object(request)
        include = request.query_params.getlist("include") or None
        return ok({"entities": port.search(query, include)})

    # --- control API ------------------------------------------------------
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
            {"deleted": port.deleted_entities, "stubsCreated": port.stubs_created}
        )

    @route("/_standin/logs", ["GET"], auth=False)
    async def standin_logs(request: Request) -> Response:
        return JSONResponse(
            {
                "received": port.logs_received,
                "logs": port.logs[-200:],
                "metrics": port.metrics[-50:],
                "examples": port.kind_examples,
                "lakeBatches": port.lake_batches,
            }
        )

    @route("/_standin/reset", ["POST"], auth=False)
    async def standin_reset(request: Request) -> Response:
        port.reset()
        return ok()

    @route("/_standin/seed", ["POST"], auth=False)
    async def standin_seed(request: Request) -> Response:
        body = await _json_object(request)
        body.setdefault("baseUrl", _base_url(request))
        return ok({"seeded": port.seed(body)})

    @route("/_standin/config", ["GET", "POST"], auth=False)
    async def standin_config(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_object(request)
            if "strict" in body:
                port.strict = bool(body["strict"])
            if "featureFlags" in body:
                port.feature_flags = [str(f) for f in body["featureFlags"]]
            if "provisionEnabledIntegrations" in body:
                port.provision_enabled_integrations = [
                    str(i) for i in body["provisionEnabledIntegrations"]
                ]
            if "beforeFilterField" in body:
                port.before_filter_field = str(body["beforeFilterField"] or "")
            if "badCredentials" in body:
                bad = body["badCredentials"]
                port.bad_credentials = (str(bad[0]), str(bad[1])) if bad else None
        return JSONResponse(
            {
                "strict": port.strict,
                "featureFlags": port.feature_flags,
                "provisionEnabledIntegrations": port.provision_enabled_integrations,
                "beforeFilterField": port.before_filter_field,
                "badCredentials": (
                    list(port.bad_credentials) if port.bad_credentials else None
                ),
            }
        )

    @route("/_standin/revoke-tokens", ["POST"], auth=False)
    async def standin_revoke(request: Request) -> Response:
        return ok({"revoked": port.revoke_tokens()})

    @route("/_standin/faults", ["GET", "POST", "DELETE"], auth=False)
    async def standin_faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_object(request)
            port.faults.append(
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
            port.faults.clear()
        return JSONResponse(
            {
                "faults": [
                    {
                        "method": f.method,
                        "path": f.path,
                        "status": f.status,
                        "times": f.times,
                    }
                    for f in port.faults
                ]
            }
        )

    @route("/_standin/integration/{identifier}", ["GET"], auth=False)
    async def standin_integration(request: Request) -> Response:
        identifier = request.path_params["identifier"]
        integration = port.get_integration(identifier)
        return JSONResponse(
            {
                **copy.deepcopy(integration),
                "resyncStateHistory": list(
                    port.resync_state_history.get(identifier, [])
                ),
                "kindExamples": port.kind_examples.get(identifier, {}),
            }
        )

    @route("/_standin/integration/{identifier}/resync-request", ["POST"], auth=False)
    async def standin_resync_request(request: Request) -> Response:
        return ok({"request": port.request_resync(request.path_params["identifier"])})

    # --- everything else --------------------------------------------------
    async def unknown(request: Request) -> Response:
        key = f"{request.method} {request.url.path}"
        port.request_counts[f"UNKNOWN {key}"] += 1
        port.unknown_requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "query": str(request.url.query),
                "at": now_iso(),
            }
        )
        logger.warning("UNKNOWN ENDPOINT %s (query=%s) -> 404", key, request.url.query)
        return JSONResponse(
            {
                "ok": False,
                "error": "not_found",
                "message": f"port-standin does not implement {key}",
            },
            status_code=404,
        )

    routes.append(
        Route(
            "/{path:path}",
            unknown,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        )
    )
    app = Starlette(routes=routes)
    app.state.port = port
    return app


# -------------------------------------------------------------------------- CLI
def _write_atomic(path: str, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(target)


class _QuietExitServer(uvicorn.Server):
    """Stops on SIGTERM/SIGINT without re-raising the signal afterwards,
    so the catalog dump still runs and the process exits 0."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        self.should_exit = True


async def serve(
    state: PortState,
    host: str,
    port: int,
    ready_file: str | None,
    dump: str | None,
) -> None:
    app = create_app(state)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = _QuietExitServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.02)
    url = f"http://{host}:{bound_port}"
    if ready_file:
        _write_atomic(ready_file, url + "\n")
    print(f"READY {url}", flush=True)
    try:
        await task
    finally:
        if dump:
            _write_atomic(dump, json.dumps(state.catalog(), indent=2, sort_keys=True))
            print(f"DUMPED {dump}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for Port's REST API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help="write the base URL here once listening")
    parser.add_argument("--dump", help="write the catalog JSON here on shutdown")
    parser.add_argument(
        "--strict", action="store_true", help="reject schema mismatches (422) like Port"
    )
    parser.add_argument(
        "--feature-flag",
        action="append",
        default=[],
        help="organization feature flag (repeatable)",
    )
    parser.add_argument("--bad-client-id", default=DEFAULT_BAD_CREDENTIALS[0])
    parser.add_argument("--bad-client-secret", default=DEFAULT_BAD_CREDENTIALS[1])
    parser.add_argument(
        "--before-filter-field",
        default="updatedAt",
        help="timestamp compared with the reconciliation search's 'before' "
        "(updatedAt | createdAt | '' to ignore it)",
    )
    parser.add_argument(
        "--seed", help="JSON file loaded via the same logic as POST /_standin/seed"
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s port-standin: %(message)s",
    )
    state = PortState(
        strict=args.strict,
        feature_flags=list(args.feature_flag),
        bad_credentials=(args.bad_client_id, args.bad_client_secret),
        before_filter_field=args.before_filter_field,
    )
    if args.seed:
        state.seed(json.loads(Path(args.seed).read_text()))
    asyncio.run(serve(state, args.host, args.port, args.ready_file, args.dump))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
