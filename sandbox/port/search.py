"""Entity search: ``/v1/entities/search`` rules and the reconciliation's
``/v1/blueprints/entities/datasource-entities``."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.port.catalog import CatalogStore
from sandbox.port.common import (
    JSON,
    PortError,
    RouteRegistrar,
    Settings,
    json_object,
    ok,
    parse_iso,
)


def _compare(operator: str, actual: Any, value: Any) -> bool:
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


def apply_operator(operator: Any, actual: Any, value: Any) -> bool:
    if operator == "=":
        return bool(actual == value)
    if operator == "!=":
        return bool(actual != value)
    if operator in {"in", "notIn"}:
        values = value if isinstance(value, list) else [value]
        if operator == "notIn":
            return actual not in values
        if isinstance(actual, list):
            return any(item in values for item in actual)
        return actual in values
    if operator == "contains":
        if isinstance(actual, str) and isinstance(value, str):
            return value in actual
        if isinstance(actual, list):
            return value in actual
        return False
    if operator == "doesNotContains":
        return not apply_operator("contains", actual, value)
    if operator in {"beginsWith", "endsWith"}:
        if not (isinstance(actual, str) and isinstance(value, str)):
            return False
        return (
            actual.startswith(value)
            if operator == "beginsWith"
            else actual.endswith(value)
        )
    if operator == "isEmpty":
        return actual in (None, "", [], {})
    if operator == "isNotEmpty":
        return actual not in (None, "", [], {})
    if operator in {">", "<", ">=", "<="}:
        return _compare(operator, actual, value)
    raise PortError(422, "invalid_request", f"Unsupported search operator {operator!r}")


def blueprint_equals(query: JSON) -> str | None:
    """If an AND query pins ``$blueprint`` with ``=``, return it (a cheap pre-filter)."""
    if str(query.get("combinator", "and")).lower() != "and":
        return None
    for rule in query.get("rules") or []:
        if rule.get("property") == "$blueprint" and rule.get("operator") == "=":
            value = rule.get("value")
            return value if isinstance(value, str) else None
    return None


def project(entity: JSON, include: list[str] | None) -> JSON:
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


class EntitySearch:
    """Evaluates Port's rules queries against the catalog."""

    def __init__(self, catalog: CatalogStore, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings

    def field_value(self, entity: JSON, name: str) -> Any:
        if name == "$datasource":
            return self.catalog.datasources.get(
                (entity["blueprint"], entity["identifier"])
            )
        if name.startswith("$"):
            return entity.get(name[1:])
        return entity.get("properties", {}).get(name)

    def matches(self, entity: JSON, rule: JSON) -> bool:
        if "combinator" in rule:
            children = rule.get("rules") or []
            outcomes = (self.matches(entity, child) for child in children)
            if str(rule["combinator"]).lower() == "or":
                return any(outcomes)
            return all(outcomes)
        operator = rule.get("operator")
        value = rule.get("value")
        if "relation" in rule and "property" not in rule:
            actual: Any = entity.get("relations", {}).get(rule["relation"])
        elif "property" in rule:
            actual = self.field_value(entity, str(rule["property"]))
        else:
            raise PortError(422, "invalid_request", f"Unsupported search rule {rule!r}")
        return apply_operator(operator, actual, value)

    def resolve_identifier(self, blueprint: str, query: Any) -> str | None:
        """Resolve a search identifier / search relation (a rules query) to one identifier."""
        if not isinstance(query, dict):
            return None
        matched = [
            entity_id
            for entity_id, entity in self.catalog.entities.get(blueprint, {}).items()
            if self.matches(entity, query)
        ]
        return matched[0] if len(matched) == 1 else None

    def resolve_relations(
        self, blueprint_id: str, identifier: str, relations: JSON
    ) -> tuple[JSON, list[tuple[str, str]]]:
        """Resolve search relations and find missing targets.

        Returns the resolved relations and the (target blueprint, identifier)
        pairs that do not exist yet.
        """
        blueprints = self.catalog.blueprints
        blueprint = blueprints[blueprint_id]
        resolved: JSON = {}
        missing: list[tuple[str, str]] = []
        for name, value in relations.items():
            relation = blueprint["relations"].get(name)
            if relation is None or relation.get("target") not in blueprints:
                resolved[name] = value
                continue
            target_bp = str(relation["target"])
            values = value if isinstance(value, list) else [value]
            out: list[Any] = []
            for item in values:
                if isinstance(item, dict):
                    found = self.resolve_identifier(target_bp, item)
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
                    and self.catalog.find_entity(target_bp, item) is None
                    and (target_bp, item) not in missing
                ):
                    missing.append((target_bp, item))
                out.append(item)
            resolved[name] = (
                out if isinstance(value, list) else (out[0] if out else None)
            )
        return resolved, missing

    def search(self, query: JSON, include: list[str] | None = None) -> list[JSON]:
        entities = self.catalog.entities
        blueprint_filter = blueprint_equals(query)
        blueprint_ids: Iterable[str] = (
            [blueprint_filter] if blueprint_filter is not None else list(entities)
        )
        found: list[JSON] = []
        for bp_id in blueprint_ids:
            for entity in entities.get(bp_id, {}).values():
                if self.matches(entity, query):
                    found.append(project(entity, include))
        return found

    def datasource_entities(
        self,
        prefix: str,
        suffix: str,
        limit: int,
        before: str | None,
        cursor: str | None,
    ) -> JSON:
        entities = self.catalog.entities
        before_dt = parse_iso(before) if before else None
        before_field = self.settings.before_filter_field
        matched: list[JSON] = []
        for bp_id in sorted(entities):
            for entity_id in sorted(entities[bp_id]):
                datasource = self.catalog.datasources.get((bp_id, entity_id))
                if (
                    datasource is None
                    or not datasource.startswith(prefix)
                    or not datasource.endswith(suffix)
                ):
                    continue
                entity = entities[bp_id][entity_id]
                if before_dt is not None and before_field:
                    stamp = parse_iso(str(entity.get(before_field, "")))
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


def add_search_routes(route: RouteRegistrar, search: EntitySearch) -> None:
    # literal path: registered before /v1/blueprints/{identifier}/...
    @route("/v1/blueprints/entities/datasource-entities", ["POST"])
    async def datasource_entities(request: Request) -> Response:
        body = await json_object(request)
        result = search.datasource_entities(
            prefix=str(body.get("datasource_prefix") or ""),
            suffix=str(body.get("datasource_suffix") or ""),
            limit=int(body.get("limit") or 5000),
            before=body.get("before"),
            cursor=body.get("from"),
        )
        return JSONResponse(result)

    @route("/v1/entities/search", ["POST"])
    async def search_entities(request: Request) -> Response:
        query = await json_object(request)
        include = request.query_params.getlist("include") or None
        return ok({"entities": search.search(query, include)})
