"""The only module that touches Ocean's private (underscore) members.

Everything else uses Ocean's public API. Each seam below is a private member
with no public equivalent; each says why it is needed, and each has a canary
in tests/test_ocean_seams.py that fails, naming the member, when an Ocean
release removes it, changes its signature or stops using it the way we rely
on. The members are also checked when this module is imported, so an Ocean
without them stops the integration at start instead of running with a guard
silently off.
"""

import asyncio
import inspect
from typing import Any

from port_ocean.core.handlers.actions.abstract_executor import AbstractExecutor
from port_ocean.core.handlers.entity_processor.jq_entity_processor import (
    JQEntityProcessor,
)
from port_ocean.core.handlers.entity_processor.jq_entity_processor_sync import (
    JQEntityProcessorSync,
)
from port_ocean.core.handlers.webhook.webhook_event import (
    WebhookEvent,
    WebhookOriginalRequest,
)
from port_ocean.core.models import IntegrationRun
from port_ocean.core.ocean_types import RAW_ITEM

from collector import cyclic_collection_paused

# (owner, member, parameters it must take): what each seam below relies on.
SEAMS: list[tuple[type, str, list[str]]] = [
    (JQEntityProcessor, "_compile", ["self", "pattern"]),
    (JQEntityProcessor, "_search", ["self", "data", "pattern", "field"]),
    (AbstractExecutor, "_get_partition_key", ["self", "run"]),
    (
        JQEntityProcessorSync,
        "_get_mapped_entity",
        ["data", "raw_entity_mappings", "selector_query", "parse_all"],
    ),
    (
        JQEntityProcessor,
        "parse_items_sync",
        ["self", "compileable_patterns", "raw_results", "selector_query", "parse_all"],
    ),
]

# Batches up to this size are mapped in this process (see OceanJQProcessor).
IN_PROCESS_BATCH_LIMIT = 20

MappedResults = tuple[list[tuple[list[Any], list[Exception]]], list[Exception]]


class OceanSeamError(RuntimeError):
    """The installed Ocean lacks a private member this integration relies on."""


def missing_seams() -> list[str]:
    """Each seam member the installed Ocean lacks or calls differently."""
    problems: list[str] = []
    for owner, member, parameters in SEAMS:
        found = getattr(owner, member, None)
        if found is None:
            problems.append(f"{owner.__name__}.{member} is gone")
            continue
        actual = list(inspect.signature(found).parameters)
        if actual != parameters:
            problems.append(
                f"{owner.__name__}.{member} takes {actual}, expected {parameters}"
            )
    if not keeps_original_request():
        problems.append(
            "WebhookEvent._original_request no longer holds the original_request"
        )
    return problems


def keeps_original_request() -> bool:
    """Whether a WebhookEvent still keeps its `original_request` where
    `original_request()` below reads it (an instance attribute)."""
    marker = object()
    try:
        probe = WebhookEvent("ocean-seam-check", {}, {}, original_request=marker)  # type: ignore[arg-type]
    except TypeError:
        return False
    return getattr(probe, "_original_request", None) is marker


def require_seams() -> None:
    problems = missing_seams()
    if problems:
        raise OceanSeamError(
            "This Ocean version changed members the PagerDuty integration relies "
            f"on (see ocean_seams.py): {'; '.join(problems)}"
        )


require_seams()


class OceanJQProcessor(JQEntityProcessor):
    """Ocean's JQ entity processor, opened at the two places the mapping guard
    (mapping_guard.py) needs. Mapping checks themselves use the public
    `parse_items`."""

    def ocean_compile(self, pattern: str) -> Any:
        """Seam: `JQEntityProcessor._compile`.

        Why: it is Ocean's JQ dialect, the only definition of how a mapping
        expression is compiled (single quotes rewritten to double quotes, `env`
        and `$ENV` hidden unless allowed, an LRU cache). The guard must judge
        an expression exactly as Ocean will run it; a public `jq.compile` would
        reject expressions Ocean accepts."""
        return self._compile(pattern)

    async def _search(
        self, data: dict[str, Any], pattern: str, field: str | None = None
    ) -> Any:
        """Seam: `JQEntityProcessor._search`, overridden.

        Why: Ocean evaluates a block's `itemsToParse` and its top-level transform
        only by calling `entity_processor._search(item, pattern)` without a field
        (port_ocean.core.integrations.mixins.utils.handle_items_to_parse, for
        resyncs and live events alike), and turns any JQ failure into None,
        which drops the object and later deletes its entity as stale. No public
        hook sees that evaluation. Calls with a field (mapping properties) keep
        Ocean's behaviour."""
        if field is None:
            return await self.evaluate_items_to_parse(data, pattern)
        return await super()._search(data, pattern, field)

    async def parse_items_sync(
        self,
        compileable_patterns: dict[str, Any],
        raw_results: list[RAW_ITEM],
        selector_query: str,
        parse_all: bool = False,
    ) -> MappedResults:
        """Seam: `JQEntityProcessorSync._get_mapped_entity`, called in this
        process for small batches (`parse_items_sync` overridden).

        Why: Ocean maps every batch in a freshly forked process pool, and for a
        webhook delivery (one object) forking and joining that pool is ~80 ms
        during which the event loop is blocked: in an incident storm that is
        most of the CPU, it delays every webhook acknowledgement and it paces
        how fast Port catches up (`make bench` storm). A batch of up to
        IN_PROCESS_BATCH_LIMIT objects is mapped here by the very function the
        pool's workers run, so the entities are identical; larger batches
        (resync pages) keep Ocean's pool."""
        if not compileable_patterns or len(raw_results) > IN_PROCESS_BATCH_LIMIT:
            with cyclic_collection_paused():
                return await super().parse_items_sync(
                    compileable_patterns, raw_results, selector_query, parse_all
                )
        results = []
        for raw in raw_results:
            results.append(
                map_in_process(raw, compileable_patterns, selector_query, parse_all)
            )
            # One object's mapping at a time on the event loop, so webhook
            # acknowledgements wait for at most one, not for the whole batch.
            await asyncio.sleep(0)
        return results, []

    async def evaluate_items_to_parse(self, data: dict[str, Any], pattern: str) -> Any:
        """`itemsToParse` (or its top-level transform) on one raw object; by
        default exactly what Ocean does."""
        return await super()._search(data, pattern)


def map_in_process(
    raw: RAW_ITEM, mappings: dict[str, Any], selector_query: str, parse_all: bool
) -> tuple[list[Any], list[Exception]]:
    """One object mapped as a worker of Ocean's JQ process pool maps it
    (port_ocean's `_calculate_entity`): its entity, or the error."""
    try:
        entity = JQEntityProcessorSync._get_mapped_entity(
            raw, mappings, selector_query, parse_all
        )
    except Exception as error:  # noqa: BLE001 - the pool returns errors this way
        return [], [error]
    return [entity], []


def original_request(event: WebhookEvent) -> WebhookOriginalRequest | None:
    """Seam: `WebhookEvent._original_request`.

    Why: PagerDuty signs the bytes it sent, and re-encoding the parsed payload
    does not give them back. Ocean keeps the original request (on the Redis
    path, a `WebhookRequestAdapter` over the stored body) for exactly this, but
    only as a private attribute: `WebhookEvent` has no public accessor."""
    return event._original_request


class PartitionedExecutor(AbstractExecutor):
    """Ocean's action executor, with the run's partition key behind a public name.

    Seam: `AbstractExecutor._get_partition_key`, overridden (actions/).

    Why: Ocean's ExecutionManager queues runs whose executor gives the same key
    in one partition and runs them one at a time, in order; it reads the key
    only from this private method (its docstring asks executors to override
    it), not from the documented `PARTITION_KEY` attribute. Executors override
    the public `partition_key` instead."""

    async def _get_partition_key(self, run: IntegrationRun) -> str | None:
        return await self.partition_key(run)

    async def partition_key(self, run: IntegrationRun) -> str | None:
        """Runs with the same key run in order; None runs in parallel."""
        return None
