"""``/v1/blueprints/{bp}/entities...``: upsert, bulk upsert, read, delete, bulk delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.port.blueprints import BlueprintStore
from sandbox.port.catalog import CatalogStore
from sandbox.port.common import (
    PortError,
    RouteRegistrar,
    bool_param,
    datasource_from,
    json_object,
    logger,
    ok,
)
from sandbox.port.upsert import EntityUpserter, UpsertOptions


class EntityDeleter:
    """Deletes entities, with or without their dependents, like Port does."""

    def __init__(self, catalog: CatalogStore, blueprints: BlueprintStore) -> None:
        self.catalog = catalog
        self.blueprints = blueprints

    def delete(
        self, blueprint_id: str, identifier: str, delete_dependents: bool
    ) -> list[str]:
        """Delete one entity; returns every (``bp/id``) removed, dependents included."""
        catalog = self.catalog
        self.blueprints.get(blueprint_id)
        if catalog.find_entity(blueprint_id, identifier) is None:
            raise PortError(
                404,
                "not_found",
                f"Entity {identifier!r} of blueprint {blueprint_id!r} was not found",
            )
        dependents = catalog.dependents(blueprint_id, identifier)
        removed = [f"{blueprint_id}/{identifier}"]
        if delete_dependents:
            catalog.remove_entity(blueprint_id, identifier, reason="delete")
            for dep_bp, dep_id, _, _ in dependents:
                if catalog.find_entity(dep_bp, dep_id) is not None:
                    removed.extend(self.delete(dep_bp, dep_id, delete_dependents=True))
            return removed
        blocking = [d for d in dependents if d[3]]
        if blocking:
            raise PortError(
                409,
                "has_dependents",
                f"Entity {identifier!r} is required by {[f'{b}/{i}' for b, i, _, _ in blocking]}",
            )
        catalog.remove_entity(blueprint_id, identifier, reason="delete")
        for dep_bp, dep_id, rel_name, _ in dependents:
            dep = catalog.entities[dep_bp][dep_id]
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
        self.blueprints.get(blueprint_id)
        deleted: list[str] = []
        for identifier in identifiers:
            if not isinstance(identifier, str):
                continue
            try:
                self.delete(blueprint_id, identifier, delete_dependents)
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


def upsert_options(request: Request) -> UpsertOptions:
    """Port's query flags; each defaults to false when absent."""
    return UpsertOptions(
        merge=bool_param(request, "merge", False),
        create_missing_related_entities=bool_param(
            request, "create_missing_related_entities", False
        ),
        validation_only=bool_param(request, "validation_only", False),
        upsert=bool_param(request, "upsert", False),
    )


def add_entity_routes(
    route: RouteRegistrar,
    catalog: CatalogStore,
    blueprints: BlueprintStore,
    upserter: EntityUpserter,
    deleter: EntityDeleter,
) -> None:
    @route("/v1/blueprints/{blueprint}/entities", ["POST"])
    async def upsert_entity(request: Request) -> Response:
        result = upserter.upsert(
            request.path_params["blueprint"],
            await json_object(request),
            upsert_options(request),
            datasource_from(request),
        )
        return ok({"entity": result.entity}, status=201 if result.created else 200)

    @route("/v1/blueprints/{blueprint}/entities", ["GET"])
    async def list_entities(request: Request) -> Response:
        blueprint = request.path_params["blueprint"]
        blueprints.get(blueprint)
        return ok({"entities": list(catalog.entities.get(blueprint, {}).values())})

    @route("/v1/blueprints/{blueprint}/entities/bulk", ["POST"])
    async def bulk_upsert(request: Request) -> Response:
        body = await json_object(request)
        entities = body.get("entities")
        if not isinstance(entities, list):
            raise PortError(422, "invalid_request", "body.entities must be an array")
        result = upserter.bulk_upsert(
            request.path_params["blueprint"],
            entities,
            upsert_options(request),
            datasource_from(request),
        )
        return JSONResponse(result, status_code=207 if result["errors"] else 200)

    @route("/v1/blueprints/{blueprint}/entities/{identifier:path}", ["GET"])
    async def get_entity(request: Request) -> Response:
        blueprint = request.path_params["blueprint"]
        identifier = request.path_params["identifier"]
        blueprints.get(blueprint)
        entity = catalog.find_entity(blueprint, identifier)
        if entity is None:
            raise PortError(404, "not_found", f"Entity {identifier!r} was not found")
        return ok({"entity": entity})

    @route("/v1/blueprints/{blueprint}/entities/{identifier:path}", ["DELETE"])
    async def delete_entity(request: Request) -> Response:
        deleter.delete(
            request.path_params["blueprint"],
            request.path_params["identifier"],
            bool_param(request, "delete_dependents", False),
        )
        return ok()

    @route("/v1/blueprints/{blueprint}/bulk/entities/delete", ["POST"])
    async def bulk_delete(request: Request) -> Response:
        body = await json_object(request)
        identifiers = body.get("entities")
        if not isinstance(identifiers, list):
            raise PortError(422, "invalid_request", "body.entities must be an array")
        deleted = deleter.bulk_delete(
            request.path_params["blueprint"],
            identifiers,
            bool_param(request, "delete_dependents", False),
        )
        return ok({"deletedEntities": deleted})
