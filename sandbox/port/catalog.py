"""The catalog's raw data, shared by the blueprint, entity and search stores."""

from __future__ import annotations

from typing import Any

from sandbox.port.common import JSON, PortError, now_iso


class CatalogStore:
    """Blueprints, entities per blueprint, each entity's ``$datasource``, and
    the bookkeeping of deletions and auto-created related entities."""

    def __init__(self) -> None:
        self.blueprints: dict[str, JSON] = {}
        self.entities: dict[str, dict[str, JSON]] = {}
        self.datasources: dict[tuple[str, str], str] = {}
        self.stubs_created: list[JSON] = []
        self.deleted_entities: list[JSON] = []

    def clear(self) -> None:
        self.blueprints.clear()
        self.entities.clear()
        self.datasources.clear()
        self.stubs_created.clear()
        self.deleted_entities.clear()

    def find_entity(self, blueprint: str, identifier: str) -> JSON | None:
        return self.entities.get(blueprint, {}).get(identifier)

    def put_entity(self, entity: JSON, datasource: str | None) -> None:
        blueprint = str(entity["blueprint"])
        identifier = str(entity["identifier"])
        self.entities.setdefault(blueprint, {})[identifier] = entity
        if datasource is not None:
            self.datasources[(blueprint, identifier)] = datasource

    def remove_entity(self, blueprint_id: str, identifier: str, reason: str) -> None:
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

    def dependents(
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

    def seed_entities(self, entities: Any, default_datasource: Any) -> int:
        """Store entities as given (no schema checks); returns how many."""
        if isinstance(entities, dict):
            entities = [e for per_bp in entities.values() for e in per_bp.values()]
        count = 0
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
            count += 1
        return count

    def export(self) -> JSON:
        """Blueprints, entities and datasources by blueprint (not copied)."""
        datasources: dict[str, dict[str, str]] = {}
        for (bp_id, entity_id), datasource in self.datasources.items():
            datasources.setdefault(bp_id, {})[entity_id] = datasource
        return {
            "blueprints": self.blueprints,
            "entities": self.entities,
            "datasources": datasources,
        }
