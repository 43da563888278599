"""Removes from a resource block the objects that left it, the way a live event does.

Ocean's incremental resync only upserts what the handler yields: it has no way
for a generator to report deletions and no reconciliation phase. A live event
returns such objects in `WebhookEventRawResults.deleted_raw_results`; Ocean then
maps them with the block's mapping (`parse_all`), removes the entities that
exist in Port, and also removes entities whose object fails the block's
`selector.query`, except those the same event upserts through another block.
This does the same for the incremental path, through public API only
(`parse_items`, `search_entities`, `ocean.unregister`).

Only what names the entity is mapped (the block's identifier and blueprint), so
an object PagerDuty no longer has can be removed from its id alone, as the
webhook path reports it (`{"id": ...}`); a block whose identifier is computed
from other fields cannot remove such an object. A search identifier is skipped,
as Ocean's own `unregister_raw` does.
"""

from collections.abc import Callable, Sequence

from loguru import logger
from port_ocean.clients.port.types import UserAgentType
from port_ocean.context.event import event
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import (
    EntityMapping,
    ResourceConfig,
)
from port_ocean.core.models import Entity

from client import JSON

SEARCH_BATCH = 100
TRIVIAL_QUERY = "true"

EntityKey = tuple[str, str]
Belongs = Callable[[ResourceConfig, JSON], bool]


def key_of(entity: Entity) -> EntityKey:
    return (entity.blueprint, entity.identifier)


def naming_only(block: ResourceConfig) -> ResourceConfig:
    """The block, mapping only what names its entities (identifier, blueprint)."""
    mappings = block.port.entity.mappings
    naming = EntityMapping.parse_obj(
        {"identifier": mappings.identifier, "blueprint": mappings.blueprint}
    )
    port = block.port.copy(
        update={"entity": block.port.entity.copy(update={"mappings": naming})}
    )
    return block.copy(update={"port": port})


async def entities_of(
    block: ResourceConfig, objects: list[JSON], passed: bool, failed: bool
) -> dict[EntityKey, Entity]:
    if not objects:
        return {}
    processor = ocean.integration.entity_processor
    result = await processor.parse_items(naming_only(block), objects, parse_all=True)
    diff = result.entity_selector_diff
    chosen = [*(diff.passed if passed else []), *(diff.failed if failed else [])]
    return {key_of(entity): entity for entity in chosen}


async def kept_elsewhere(
    block: ResourceConfig, objects: list[JSON], belongs: Belongs
) -> set[EntityKey]:
    """Entities another block of the same kind writes from these objects."""
    kept: set[EntityKey] = set()
    for other in event.port_app_config.resources:
        if other is block or other.kind != block.kind:
            continue
        theirs = [item for item in objects if belongs(other, item)]
        kept |= set(await entities_of(other, theirs, passed=True, failed=False))
    return kept


async def in_port(entities: Sequence[Entity]) -> list[Entity]:
    """The entities that exist in Port as this integration's (a live event
    deletes only those too)."""
    by_blueprint: dict[str, list[Entity]] = {}
    for entity in entities:
        by_blueprint.setdefault(entity.blueprint, []).append(entity)
    found: list[Entity] = []
    for blueprint, candidates in by_blueprint.items():
        for start in range(0, len(candidates), SEARCH_BATCH):
            batch = candidates[start : start + SEARCH_BATCH]
            query = {
                "combinator": "and",
                "rules": [
                    {"property": "$blueprint", "operator": "=", "value": blueprint},
                    {
                        "property": "$identifier",
                        "operator": "in",
                        "value": [entity.identifier for entity in batch],
                    },
                ],
            }
            existing = await ocean.port_client.search_entities(
                UserAgentType.exporter, query
            )
            keys = {key_of(entity) for entity in existing}
            found += [entity for entity in batch if key_of(entity) in keys]
    return found


async def remove_from_block(
    block: ResourceConfig, left: list[JSON], kept: list[JSON], belongs: Belongs
) -> list[Entity]:
    """Remove from `block` what a live event would: the entities of the objects
    that `left` it, and those of `kept` objects that fail its selector.query,
    unless another block of the kind writes them. Returns what was removed."""
    if block.port.entity.mappings.is_using_search_identifier:
        return []
    doomed = await entities_of(block, left, passed=True, failed=True)
    if block.selector.query.strip() != TRIVIAL_QUERY:
        doomed |= await entities_of(block, kept, passed=False, failed=True)
    if not doomed:
        return []
    for key in await kept_elsewhere(block, [*left, *kept], belongs):
        doomed.pop(key, None)
    removed = await in_port(list(doomed.values()))
    if removed:
        logger.info(
            f"Removing {len(removed)} entities that left the '{block.kind}' block: "
            + ", ".join(f"{e.blueprint}/{e.identifier}" for e in removed)
        )
        await ocean.unregister(removed)
    return removed
