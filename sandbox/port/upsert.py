"""Entity upserts: ``POST /v1/blueprints/{bp}/entities`` and its ``/bulk`` form."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from sandbox.port.catalog import CatalogStore
from sandbox.port.common import JSON, PortError, Settings, logger, now_iso
from sandbox.port.mismatches import MismatchLog
from sandbox.port.schema import validate_entity
from sandbox.port.search import EntitySearch

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9@_.+:\\/=-]+$")
MAX_IDENTIFIER_LENGTH = 1000


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


def _same_content(old: JSON, new: JSON) -> bool:
    keys = ("title", "icon", "team", "properties", "relations")
    return all(old.get(key) == new.get(key) for key in keys)


def _object_field(payload: JSON, name: str) -> JSON:
    value = payload.get(name)
    return value if isinstance(value, dict) else {}


def _stub(blueprint: str, identifier: str, stamp: str, by: str) -> JSON:
    return {
        "identifier": identifier,
        "title": None,
        "icon": None,
        "blueprint": blueprint,
        "team": [],
        "properties": {},
        "relations": {},
        "createdAt": stamp,
        "createdBy": by,
        "updatedAt": stamp,
        "updatedBy": by,
    }


def _build_entity(
    blueprint_id: str,
    identifier: str,
    payload: JSON,
    relations: JSON,
    existing: JSON | None,
    merge: bool,
    author: str,
    stamp: str,
) -> JSON:
    """The entity an upsert stores: merged into ``existing`` or replacing it."""
    properties = _object_field(payload, "properties")
    team = payload.get("team", None)
    if isinstance(team, str):
        team = [team]
    if merge and existing is not None:
        entity = copy.deepcopy(existing)
        entity["properties"] = {**entity.get("properties", {}), **properties}
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
            "properties": dict(properties),
            "relations": relations,
            "createdAt": existing["createdAt"] if existing else stamp,
            "createdBy": existing["createdBy"] if existing else author,
        }
    entity["identifier"] = identifier
    entity["blueprint"] = blueprint_id
    if existing is not None and _same_content(existing, entity):
        # Port leaves an entity untouched when an upsert changes nothing.
        entity["updatedAt"] = existing.get("updatedAt", stamp)
        entity["updatedBy"] = existing.get("updatedBy", author)
    else:
        entity["updatedAt"] = stamp
        entity["updatedBy"] = author
    return entity


class EntityUpserter:
    """Checks an entity against its blueprint, resolves its relations and stores it."""

    def __init__(
        self,
        catalog: CatalogStore,
        search: EntitySearch,
        mismatches: MismatchLog,
        settings: Settings,
    ) -> None:
        self.catalog = catalog
        self.search = search
        self.mismatches = mismatches
        self.settings = settings

    def _reject(
        self,
        blueprint: str,
        identifier: str,
        kind: str,
        field_name: str,
        message: str,
        got: Any,
        datasource: str | None,
        error: PortError,
    ) -> PortError:
        self.mismatches.record(
            blueprint=blueprint,
            identifier=identifier,
            kind=kind,
            field_name=field_name,
            message=message,
            got=got,
            datasource=datasource,
            rejected=True,
        )
        return error

    def _identifier(self, blueprint_id: str, raw: Any, datasource: str | None) -> str:
        if isinstance(raw, dict):
            found = self.search.resolve_identifier(blueprint_id, raw)
            if found is None:
                raise PortError(
                    404,
                    "not_found",
                    f"Search identifier matched no single entity in {blueprint_id!r}",
                )
            identifier = found
        elif isinstance(raw, str) and raw:
            identifier = raw
        else:
            raise self._reject(
                blueprint_id,
                str(raw),
                "invalid_identifier",
                "identifier",
                f"identifier must be a non-empty string, got {raw!r}",
                raw,
                datasource,
                PortError(422, "invalid_request", f"Invalid identifier {raw!r}"),
            )
        if len(identifier) > MAX_IDENTIFIER_LENGTH or not IDENTIFIER_RE.match(
            identifier
        ):
            raise self._reject(
                blueprint_id,
                identifier,
                "invalid_identifier",
                "identifier",
                f"identifier {identifier!r} does not match {IDENTIFIER_RE.pattern}",
                identifier,
                datasource,
                PortError(422, "invalid_request", f"Invalid identifier {identifier!r}"),
            )
        return identifier

    def _check_schema(
        self,
        blueprint_id: str,
        identifier: str,
        payload: JSON,
        existing: JSON | None,
        merge: bool,
        datasource: str | None,
    ) -> None:
        problems = validate_entity(
            self.catalog.blueprints[blueprint_id],
            self.catalog.blueprints,
            payload,
            existing,
            merge,
        )
        for problem in problems:
            self.mismatches.record(
                blueprint=blueprint_id,
                identifier=identifier,
                kind=problem["kind"],
                field_name=problem["field"],
                message=problem["message"],
                expected=problem.get("expected"),
                got=problem.get("got"),
                datasource=datasource,
                rejected=self.settings.strict,
            )
        if problems and self.settings.strict:
            raise PortError(
                422,
                "schema_mismatch",
                "; ".join(f"{p['field']}: {p['message']}" for p in problems),
                details=problems,
            )

    def _refuse_missing(
        self,
        blueprint_id: str,
        identifier: str,
        missing: list[tuple[str, str]],
        datasource: str | None,
    ) -> PortError:
        for target_bp, target_id in missing:
            self.mismatches.record(
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
        return PortError(
            404,
            "not_found",
            f"Related entity with identifier {target_id!r} of blueprint {target_bp!r} was not found",
        )

    def _create_stubs(
        self,
        by: str,
        missing: list[tuple[str, str]],
        stamp: str,
        datasource: str | None,
    ) -> None:
        for target_bp, target_id in missing:
            stub = _stub(target_bp, target_id, stamp, datasource or "port-standin")
            # Port attributes auto-created related entities to the creating
            # datasource; Ocean's reconciliation (_safe_delete) expects that.
            self.catalog.put_entity(stub, datasource)
            self.catalog.stubs_created.append(
                {"blueprint": target_bp, "identifier": target_id, "by": by}
            )
            logger.info("created missing related entity %s/%s", target_bp, target_id)

    def upsert(
        self,
        blueprint_id: str,
        payload: JSON,
        options: UpsertOptions | None = None,
        datasource: str | None = None,
    ) -> UpsertResult:
        """Upsert one entity the way Port's ``POST /v1/blueprints/{bp}/entities`` does."""
        options = options or UpsertOptions()
        if blueprint_id not in self.catalog.blueprints:
            raise self._reject(
                blueprint_id,
                str(payload.get("identifier")),
                "unknown_blueprint",
                "blueprint",
                f"blueprint {blueprint_id!r} does not exist",
                blueprint_id,
                datasource,
                PortError(
                    404, "not_found", f"Blueprint {blueprint_id!r} was not found"
                ),
            )
        if not isinstance(payload, dict):
            raise PortError(422, "invalid_request", "entity must be an object")

        identifier = self._identifier(
            blueprint_id, payload.get("identifier"), datasource
        )
        existing = self.catalog.find_entity(blueprint_id, identifier)
        if existing is not None and not options.upsert:
            raise PortError(
                409,
                "identifier_taken",
                f"Entity {identifier!r} of {blueprint_id!r} already exists",
            )
        self._check_schema(
            blueprint_id, identifier, payload, existing, options.merge, datasource
        )
        relations, missing = self.search.resolve_relations(
            blueprint_id, identifier, _object_field(payload, "relations")
        )
        if missing and not options.create_missing_related_entities:
            raise self._refuse_missing(blueprint_id, identifier, missing, datasource)

        stamp = now_iso()
        author = datasource or "port-standin"
        entity = _build_entity(
            blueprint_id,
            identifier,
            payload,
            relations,
            existing,
            options.merge,
            author,
            stamp,
        )
        if options.validation_only:
            return UpsertResult(entity=entity, created=existing is None)
        self._create_stubs(f"{blueprint_id}/{identifier}", missing, stamp, datasource)
        self.catalog.put_entity(entity, datasource)
        return UpsertResult(entity=entity, created=existing is None)

    def bulk_upsert(
        self,
        blueprint_id: str,
        payloads: list[Any],
        options: UpsertOptions | None = None,
        datasource: str | None = None,
    ) -> JSON:
        """``POST /v1/blueprints/{bp}/entities/bulk``: per-entity results and errors."""
        if blueprint_id not in self.catalog.blueprints:
            raise PortError(
                404, "not_found", f"Blueprint {blueprint_id!r} was not found"
            )
        results: list[JSON] = []
        errors: list[JSON] = []
        for index, payload in enumerate(payloads):
            raw_id = payload.get("identifier") if isinstance(payload, dict) else None
            try:
                outcome = self.upsert(blueprint_id, payload, options, datasource)
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
