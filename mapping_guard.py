"""Refuses to write a resource block whose JQ mapping is broken.

Ocean evaluates each mapping expression per object and turns any JQ failure,
a syntax error as much as a runtime error, into `null` with a warning, then
reports the resync as completed. A typo in `properties.status` therefore nulls
that property on every entity; a broken `identifier` or `itemsToParse` drops
every object, and the delete phase then removes the whole blueprint.

This entity processor checks a block's expressions before Ocean maps a batch:
every expression must compile, and run without a JQ error on the batch's first
raw object (`selector.query` must also give a boolean). When one does not, the
batch raises `MappingError` naming the block, the field, the expression and
JQ's message. Ocean then marks the kind failed, skips the delete phase, and
writes nothing of that batch. Null results (a field the object lacks) are fine.

An expression that fails on the first object but works on another object of
the same batch depends on the data (e.g. `ascii_downcase` on an optional
field); Ocean's per-object `null` is right for it, so it is only warned about.
"""

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NoReturn

from loguru import logger
from port_ocean.context.event import event
from port_ocean.context.ocean import PortOceanContext
from port_ocean.context.resource import resource
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.ocean_types import RAW_ITEM, CalculationResult
from port_ocean.core.utils.json_compat import (
    JQInputNotJsonSerializableError,
    compile_jq,
    make_json_compatible,
)
from port_ocean.exceptions.context import NoContextError, ResourceContextNotFoundError

from ocean_seams import OceanJQProcessor

SELECTOR_QUERY = "selector.query"
ITEMS_TO_PARSE = "itemsToParse"
# Objects of a batch tried before an expression that failed on the first one is
# declared broken rather than data dependent. Only spent on the failure path.
DATA_DEPENDENCE_SAMPLE = 100
CACHED_MAPPINGS = 64

Compile = Callable[[str], Any]


class MappingError(Exception):
    """A resource block's JQ mapping cannot be evaluated; nothing of it is written."""


@dataclass(frozen=True)
class Expression:
    field: str
    source: str


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0].rstrip(":")


def mapping_expressions(mapping: ResourceConfig) -> list[Expression]:
    """Every JQ expression of a block, as Ocean will evaluate them."""
    expressions = [Expression(SELECTOR_QUERY, mapping.selector.query)]
    if mapping.port.items_to_parse:
        expressions.append(Expression(ITEMS_TO_PARSE, mapping.port.items_to_parse))
    entity = mapping.port.entity.mappings.dict(exclude_unset=True)
    expressions.extend(_leaves(entity, ""))
    return expressions


def _leaves(value: Any, path: str) -> Iterator[Expression]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield Expression(path, value)


def fingerprint(mapping: ResourceConfig) -> str:
    return json.dumps(
        [
            mapping.kind,
            mapping.selector.query,
            mapping.port.items_to_parse,
            mapping.port.entity.mappings.dict(exclude_unset=True),
        ],
        sort_keys=True,
        default=str,
    )


def run_first(program: Any, data: Any) -> Any:
    """The first output of a compiled program (None when it outputs nothing)."""
    try:
        outputs = compile_jq(program, data)
    except JQInputNotJsonSerializableError:
        outputs = compile_jq(program, make_json_compatible(data))
    return next(iter(outputs), None)


def current_resource() -> tuple[ResourceConfig, int] | None:
    try:
        return resource.resource_config, resource.index
    except ResourceContextNotFoundError:  # e.g. live events
        return None


def block_label(mapping: ResourceConfig) -> str:
    index: int | None = None
    current = current_resource()
    if current is not None and current[0] is mapping:
        index = current[1]
    if index is None:
        with suppress(NoContextError, ValueError):
            for position, candidate in enumerate(event.port_app_config.resources):
                if candidate is mapping:
                    index = position
    where = f"#{index} " if index is not None else ""
    return f"resource block {where}(kind '{mapping.kind}')"


class MappingGuard:
    """Validates blocks; compiled programs are cached per mapping."""

    def __init__(self, compile_pattern: Compile) -> None:
        self.compile_pattern = compile_pattern
        self._compiled: OrderedDict[str, list[tuple[Expression, Any]]] = OrderedDict()
        self._warned: set[tuple[str, str]] = set()

    def check(self, mapping: ResourceConfig, raw_items: Sequence[RAW_ITEM]) -> None:
        key = fingerprint(mapping)
        programs = self._programs(key, mapping)
        if not raw_items:
            return
        for expression, program in programs:
            if expression.field == ITEMS_TO_PARSE:
                # Batches arrive already split by itemsToParse; it is checked
                # where Ocean evaluates it (GuardedJQEntityProcessor.evaluate_items_to_parse).
                continue
            problem = self._run_problem(expression, program, raw_items[0])
            if problem is None:
                continue
            if self._works_on_another(expression, program, raw_items):
                self._warn_data_dependent(key, mapping, expression, problem)
                continue
            self._fail(mapping, expression, problem)

    def _programs(
        self, key: str, mapping: ResourceConfig
    ) -> list[tuple[Expression, Any]]:
        cached = self._compiled.get(key)
        if cached is not None:
            self._compiled.move_to_end(key)
            return cached
        programs: list[tuple[Expression, Any]] = []
        for expression in mapping_expressions(mapping):
            try:
                programs.append((expression, self.compile_pattern(expression.source)))
            except Exception as error:  # noqa: BLE001 - jq raises ValueError
                self._fail(
                    mapping, expression, f"does not compile: {first_line(error)}"
                )
        self._compiled[key] = programs
        while len(self._compiled) > CACHED_MAPPINGS:
            self._compiled.popitem(last=False)
        return programs

    @staticmethod
    def _run_problem(expression: Expression, program: Any, data: Any) -> str | None:
        try:
            value = run_first(program, data)
        except Exception as error:  # noqa: BLE001 - jq raises ValueError
            return f"fails at runtime: {first_line(error)}"
        if expression.field == SELECTOR_QUERY and not isinstance(value, bool):
            return f"must give true or false, gave {json.dumps(value)[:80]}"
        return None

    def _works_on_another(
        self, expression: Expression, program: Any, raw_items: Sequence[RAW_ITEM]
    ) -> bool:
        return any(
            self._run_problem(expression, program, item) is None
            for item in raw_items[1:DATA_DEPENDENCE_SAMPLE]
        )

    def _warn_data_dependent(
        self,
        key: str,
        mapping: ResourceConfig,
        expression: Expression,
        problem: str,
    ) -> None:
        if (key, expression.field) in self._warned:
            return
        self._warned.add((key, expression.field))
        logger.warning(
            f"In {block_label(mapping)}, '{expression.field}' "
            f"({expression.source!r}) {problem} on some objects; they get null "
            "there. Guard the expression (`// null`, `?`) if that is expected."
        )

    @staticmethod
    def _fail(
        mapping: ResourceConfig, expression: Expression, problem: str
    ) -> NoReturn:
        message = (
            f"Invalid mapping in {block_label(mapping)}: '{expression.field}' "
            f"({expression.source!r}) {problem}. Nothing of this block was written "
            "to Port and the delete phase is skipped; fix the expression in the "
            "integration's mapping."
        )
        logger.error(message)
        raise MappingError(message)


class GuardedJQEntityProcessor(OceanJQProcessor):
    """Ocean's JQ entity processor, refusing blocks whose mapping is broken."""

    def __init__(self, context: PortOceanContext) -> None:
        super().__init__(context)
        self.mapping_guard = MappingGuard(self.ocean_compile)

    async def parse_items(
        self,
        mapping: ResourceConfig,
        raw_data: list[RAW_ITEM],
        parse_all: bool = False,
    ) -> CalculationResult:
        if raw_data:  # Ocean's own parse_items skips empty batches too
            self.mapping_guard.check(mapping, raw_data)
        return await super().parse_items(mapping, raw_data, parse_all)

    async def evaluate_items_to_parse(self, data: dict[str, Any], pattern: str) -> Any:
        """Strict for Ocean's evaluation of `itemsToParse` and its top-level
        transform (see ocean_seams.py). Ocean would turn their failure into null
        and drop the object, and then delete its entity as stale."""
        expression = Expression(ITEMS_TO_PARSE, pattern)
        try:
            program = self.ocean_compile(pattern)
        except Exception as error:  # noqa: BLE001 - jq raises ValueError
            self._fail_items(expression, f"does not compile: {first_line(error)}")
        try:
            return run_first(program, data)
        except Exception as error:  # noqa: BLE001 - jq raises ValueError
            self._fail_items(expression, f"fails at runtime: {first_line(error)}")

    @staticmethod
    def _fail_items(expression: Expression, problem: str) -> NoReturn:
        current = current_resource()
        label = block_label(current[0]) if current else "a resource block"
        message = (
            f"Invalid mapping in {label}: {ITEMS_TO_PARSE} ({expression.source!r}) "
            f"{problem}. Nothing of this block was written to Port and the delete "
            "phase is skipped; fix the expression in the integration's mapping."
        )
        logger.error(message)
        raise MappingError(message)
