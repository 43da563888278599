"""Writing what an action changed to Port at once, block by block, the way a
live event does.

`ocean.register_raw(kind, items)` maps the same items through every resource
block of the kind and applies only each block's JQ `selector.query`, not the
block's API-level filters (`apiQueryParams.statuses`, `team_ids`, the created-at
window, ...) nor its includes and enrichment. So each block is handled on its
own, through Ocean's public API: the object is read as that block's resync
would read it (`fetch(block)`, once per distinct includes/enrichment), the
objects that pass the block's filters are mapped with the block
(`entity_processor.parse_items`, which also applies `selector.query`, expanding
`itemsToParse` as Ocean does) and upserted (`ocean.register`); those that no
longer belong to it are removed from it (`block_removal.remove_from_block`:
mapped, searched in Port, `ocean.unregister`), unless another block of the kind
still writes them. The outcome is what a webhook delivery for the object would
have written.
"""

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from loguru import logger
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.integrations.mixins.utils import handle_items_to_parse
from port_ocean.core.models import Entity

from block_removal import Belongs, remove_from_block
from client import JSON

GONE = "__gone"  # marks an object PagerDuty no longer has (it names its entity)


@dataclass
class Reading:
    """The changed objects as one block's resync would read them."""

    present: list[JSON] = field(default_factory=list)
    gone: list[JSON] = field(default_factory=list)


def gone(obj: JSON) -> JSON:
    return {**obj, GONE: True}


def is_gone(obj: JSON) -> bool:
    return bool(obj.get(GONE))


@dataclass
class Written:
    upserted: list[Entity] = field(default_factory=list)
    removed: list[Entity] = field(default_factory=list)

    def summary(self) -> str:
        def names(entities: list[Entity]) -> str:
            return ", ".join(
                sorted({f"{e.blueprint}/{e.identifier}" for e in entities})
            )

        parts = []
        if self.upserted:
            parts.append(f"updated {names(self.upserted)}")
        if self.removed:
            parts.append(f"removed {names(self.removed)}")
        return "; ".join(parts) or "no entity of the mapping changed"


# None: the block is left alone (what it would hold cannot be told here).
Read = Callable[[ResourceConfig], Awaitable[Reading | None]]


async def blocks_of(kind: str) -> list[ResourceConfig]:
    """The mapping's blocks of `kind` (also makes it this event's mapping)."""
    config = await ocean.integration.port_app_config_handler.get_port_app_config()
    return [block for block in config.resources if block.kind == kind]


async def expanded(block: ResourceConfig, objects: list[JSON]) -> list[JSON]:
    port = block.port
    if not port.items_to_parse or not objects:
        return objects
    items: list[JSON] = []
    async for batch in handle_items_to_parse(
        objects,
        port.items_to_parse_name,
        port.items_to_parse,
        port.items_to_parse_top_level_transform,
    ):
        items.extend(batch)
    return items


async def upsert_into(block: ResourceConfig, objects: list[JSON]) -> list[Entity]:
    items = await expanded(block, objects)
    if not items:
        return []
    result = await ocean.integration.entity_processor.parse_items(block, items)
    passed = list(result.entity_selector_diff.passed)
    if passed:
        await ocean.register(passed)
    return passed


async def write_through(
    kind: str,
    read: Read,
    belongs: Belongs,
    variant: Callable[[ResourceConfig], Hashable],
) -> Written:
    """Each block of `kind` gets the objects `read` gives for it: upserted when
    `belongs(block, obj)`, else removed from it. `read` is called once per
    distinct `variant` of the blocks (their includes, enrichment, ranges)."""
    written = Written()
    readings: dict[Hashable, Reading | None] = {}
    for block in await blocks_of(kind):
        key = variant(block)
        if key not in readings:
            readings[key] = await read(block)
        reading = readings[key]
        if reading is None:
            continue
        kept = [obj for obj in reading.present if belongs(block, obj)]
        left = [obj for obj in reading.present if not belongs(block, obj)]
        written.upserted += await upsert_into(block, kept)
        written.removed += await remove_from_block(
            block, left + reading.gone, kept, belongs
        )
    if written.upserted or written.removed:
        logger.info(f"Action write-through ({kind}): {written.summary()}")
    return written
