"""``/v1/blueprints`` (create, read, patch, delete, delete-all-entities) and
``/v1/migrations``."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.port.catalog import CatalogStore
from sandbox.port.common import (
    JSON,
    PortError,
    RouteRegistrar,
    Settings,
    bool_param,
    json_object,
    now_iso,
    ok,
)
from sandbox.port.mismatches import MismatchLog

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


def normalize_blueprint(raw: JSON) -> JSON:
    """Fill in the defaults Port answers with (schema lists, relation flags, ...)."""
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
    for key in ("mirrorProperties", "calculationProperties", "aggregationProperties"):
        blueprint.setdefault(key, {})
    return blueprint


class BlueprintStore:
    """Blueprint CRUD on the shared catalog, plus the migrations Port reports
    for a delete-all-entities."""

    def __init__(
        self, catalog: CatalogStore, mismatches: MismatchLog, settings: Settings
    ) -> None:
        self.catalog = catalog
        self.mismatches = mismatches
        self.settings = settings
        self.migrations: dict[str, JSON] = {}

    @property
    def blueprints(self) -> dict[str, JSON]:
        return self.catalog.blueprints

    def install_builtins(self) -> None:
        if not self.settings.builtin_blueprints:
            return
        for blueprint in BUILTIN_BLUEPRINTS:
            if blueprint["identifier"] not in self.blueprints:
                self.blueprints[blueprint["identifier"]] = normalize_blueprint(
                    copy.deepcopy(blueprint)
                )

    def clear(self) -> None:
        self.migrations.clear()

    def _check_relations(self, blueprint: JSON) -> None:
        identifier = str(blueprint.get("identifier"))
        for name, relation in blueprint.get("relations", {}).items():
            target = relation.get("target")
            if target != identifier and target not in self.blueprints:
                self.mismatches.record(
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

    def create(self, raw: JSON) -> JSON:
        identifier = raw.get("identifier")
        if not isinstance(identifier, str) or not identifier:
            raise PortError(422, "invalid_request", "Blueprint identifier is required")
        if identifier in self.blueprints:
            raise PortError(
                409,
                "identifier_taken",
                f"A blueprint with identifier {identifier!r} already exists",
            )
        blueprint = normalize_blueprint(raw)
        self._check_relations(blueprint)
        stamp = now_iso()
        blueprint["createdAt"] = stamp
        blueprint["updatedAt"] = stamp
        self.blueprints[identifier] = blueprint
        self.catalog.entities.setdefault(identifier, {})
        return blueprint

    def get(self, identifier: str) -> JSON:
        blueprint = self.blueprints.get(identifier)
        if blueprint is None:
            raise PortError(404, "not_found", f"Blueprint {identifier!r} was not found")
        return blueprint

    def patch(self, identifier: str, raw: JSON) -> JSON:
        current = self.get(identifier)
        merged = {**current, **raw, "identifier": identifier}
        blueprint = normalize_blueprint(merged)
        self._check_relations(blueprint)
        blueprint["updatedAt"] = now_iso()
        self.blueprints[identifier] = blueprint
        return blueprint

    def delete(self, identifier: str) -> None:
        self.get(identifier)
        entities = self.catalog.entities
        if entities.get(identifier):
            raise PortError(
                409,
                "has_dependents",
                f"Blueprint {identifier!r} still has {len(entities[identifier])} entities",
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
        entities.pop(identifier, None)

    def delete_all_entities(self, identifier: str, delete_blueprint: bool) -> str:
        self.get(identifier)
        for entity_id in list(self.catalog.entities.get(identifier, {})):
            self.catalog.remove_entity(identifier, entity_id, reason="all-entities")
        migration_id = f"migration_{secrets.token_hex(6)}"
        self.migrations[migration_id] = {
            "id": migration_id,
            "actor": "port-standin",
            "sourceBlueprint": identifier,
            "mapping": {},
            "status": "COMPLETED",
        }
        if delete_blueprint:
            self.delete(identifier)
        return migration_id

    def seed(self, blueprints: Any) -> int:
        """Store blueprints as given (no relation checks); returns how many."""
        if isinstance(blueprints, dict):
            blueprints = list(blueprints.values())
        for raw in blueprints:
            blueprint = normalize_blueprint(raw)
            stamp = now_iso()
            blueprint.setdefault("createdAt", stamp)
            blueprint.setdefault("updatedAt", stamp)
            self.blueprints[blueprint["identifier"]] = blueprint
            self.catalog.entities.setdefault(blueprint["identifier"], {})
        return len(blueprints)


def add_blueprint_routes(route: RouteRegistrar, store: BlueprintStore) -> None:
    @route("/v1/blueprints", ["GET"])
    async def list_blueprints(request: Request) -> Response:
        return ok({"blueprints": list(store.blueprints.values())})

    @route("/v1/blueprints", ["POST"])
    async def create_blueprint(request: Request) -> Response:
        return ok({"blueprint": store.create(await json_object(request))}, status=201)

    @route("/v1/blueprints/{identifier}", ["GET"])
    async def get_blueprint(request: Request) -> Response:
        return ok({"blueprint": store.get(request.path_params["identifier"])})

    @route("/v1/blueprints/{identifier}", ["PATCH", "PUT"])
    async def patch_blueprint(request: Request) -> Response:
        blueprint = store.patch(
            request.path_params["identifier"], await json_object(request)
        )
        return ok({"blueprint": blueprint})

    @route("/v1/blueprints/{identifier}", ["DELETE"])
    async def delete_blueprint(request: Request) -> Response:
        store.delete(request.path_params["identifier"])
        return ok()

    @route("/v1/blueprints/{identifier}/all-entities", ["DELETE"])
    async def delete_all_entities(request: Request) -> Response:
        migration_id = store.delete_all_entities(
            request.path_params["identifier"],
            bool_param(request, "delete_blueprint", False),
        )
        return ok({"migrationId": migration_id})

    @route("/v1/migrations/{identifier}", ["GET"])
    async def get_migration(request: Request) -> Response:
        migration = store.migrations.get(request.path_params["identifier"])
        if migration is None:
            raise PortError(404, "not_found", "Migration was not found")
        return ok({"migration": migration})
