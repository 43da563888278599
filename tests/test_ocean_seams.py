"""Canaries for the private Ocean members ocean_seams.py relies on, and a check
that no other product module reaches into Ocean's private members.

Each canary names its member, so an Ocean upgrade that removes or changes one
fails `make test` with that name instead of silently turning a guard off.
"""

import ast
import asyncio
import gc
import importlib
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jq
import port_ocean
import pytest
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.actions.abstract_executor import AbstractExecutor
from port_ocean.core.handlers.actions.execution_manager import ExecutionManager
from port_ocean.core.handlers.entity_processor import jq_entity_processor
from port_ocean.core.handlers.entity_processor.jq_entity_processor import (
    JQEntityProcessor,
)
from port_ocean.core.handlers.entity_processor.jq_entity_processor_sync import (
    JQEntityProcessorSync,
)
from port_ocean.core.handlers.webhook.webhook_event import (
    WebhookEvent,
    WebhookRequestAdapter,
)
from port_ocean.core.integrations.mixins import utils as ocean_mixin_utils
from port_ocean.core.models import ActionRun, IntegrationRun
from port_ocean.core.utils.json_compat import compile_jq

import ocean_seams
from tests.conftest import ROOT, started_ocean

PRODUCT_DIRS = ("exporters", "webhook_processors", "actions")


def test_canary_jq_entity_processor_compile() -> None:
    member = "JQEntityProcessor._compile"
    assert hasattr(JQEntityProcessor, "_compile"), f"{member} is gone"
    parameters = list(inspect.signature(JQEntityProcessor._compile).parameters)
    assert parameters == ["self", "pattern"], f"{member} takes {parameters}"
    # Still Ocean's dialect (single-quoted strings accepted), compiled by jq.
    source = inspect.getsource(JQEntityProcessor._compile)
    assert "jq.compile" in source, f"{member} no longer compiles with jq"
    assert "_format_filter" in source, f"{member} no longer rewrites quotes"
    formatted = JQEntityProcessor._format_filter(".a == 'x'")
    assert compile_jq(jq.compile(formatted), {"a": "x"}).first() is True, member


def test_canary_jq_entity_processor_search_evaluates_items_to_parse() -> None:
    member = "JQEntityProcessor._search"
    assert hasattr(JQEntityProcessor, "_search"), f"{member} is gone"
    signature = inspect.signature(JQEntityProcessor._search)
    assert list(signature.parameters) == ["self", "data", "pattern", "field"], member
    assert signature.parameters["field"].default is None, member
    # The seam only matters while Ocean evaluates itemsToParse through it.
    source = inspect.getsource(ocean_mixin_utils.handle_items_to_parse)
    assert "entity_processor._search(item, items_to_parse)" in source, (
        f"handle_items_to_parse no longer evaluates itemsToParse via {member}; "
        "the mapping guard's itemsToParse check would be off"
    )
    assert (
        "entity_processor._search(item, jq_expression)" in source
    ), f"handle_items_to_parse no longer runs its top-level transform via {member}"


async def test_the_items_to_parse_seam_routes_field_less_searches() -> None:
    class Recording(ocean_seams.OceanJQProcessor):
        seen: list[str] = []

        async def evaluate_items_to_parse(
            self, data: dict[str, Any], pattern: str
        ) -> str:
            self.seen.append(pattern)
            return "strict"

    processor = object.__new__(Recording)
    processor._compile = jq.compile
    assert await processor._search({"a": 1}, ".a") == "strict"
    assert await processor._search({"a": 1}, ".a", field="properties.a") == 1
    assert Recording.seen == [".a"]


async def test_canary_webhook_event_original_request() -> None:
    member = "WebhookEvent._original_request"
    parameters = inspect.signature(WebhookEvent.__init__).parameters
    assert "original_request" in parameters, f"{member}: no original_request argument"
    adapter = WebhookRequestAdapter(b'{"raw": 1}', {"h": "v"})
    event = WebhookEvent("t", {"raw": 1}, {"h": "v"}, original_request=adapter)
    assert ocean_seams.original_request(event) is adapter, member
    assert ocean_seams.original_request(event.clone()) is adapter, f"{member} (clone)"
    assert await adapter.body() == b'{"raw": 1}'
    assert ocean_seams.keeps_original_request(), member


def test_canary_abstract_executor_get_partition_key() -> None:
    member = "AbstractExecutor._get_partition_key"
    assert hasattr(AbstractExecutor, "_get_partition_key"), f"{member} is gone"
    parameters = list(inspect.signature(AbstractExecutor._get_partition_key).parameters)
    assert parameters == ["self", "run"], f"{member} takes {parameters}"
    # Runs of one incident run in order only while the manager keys queues by it.
    source = inspect.getsource(ExecutionManager)
    assert "._get_partition_key(run)" in source, (
        f"ExecutionManager no longer reads {member}; runs of one incident would "
        "no longer run in order"
    )


async def test_the_partition_seam_answers_the_public_partition_key() -> None:
    class Keyed(ocean_seams.PartitionedExecutor):
        ACTION_NAME = "keyed"

        async def partition_key(self, run: IntegrationRun) -> str | None:
            return f"key-of-{run.id}"

        async def is_close_to_rate_limit(self, run: IntegrationRun) -> bool:
            return False

        async def get_remaining_seconds_until_rate_limit(
            self, run: IntegrationRun
        ) -> float:
            return 0.0

        async def execute(self, run: IntegrationRun) -> None:
            return None

    run = ActionRun.parse_obj(
        {
            "id": "r_1",
            "status": "IN_PROGRESS",
            "action": {"identifier": "keyed"},
            "payload": {
                "type": "INTEGRATION_ACTION",
                "installationId": "i",
                "integrationActionType": "keyed",
                "integrationActionExecutionProperties": {},
            },
        }
    )
    assert await Keyed()._get_partition_key(run) == "key-of-r_1"


def test_the_installed_ocean_has_every_seam() -> None:
    assert ocean_seams.missing_seams() == []


def test_a_missing_member_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        ocean_seams,
        "SEAMS",
        [*ocean_seams.SEAMS, (JQEntityProcessor, "_renamed_in_ocean_9", ["self"])],
    )
    with pytest.raises(ocean_seams.OceanSeamError, match="_renamed_in_ocean_9"):
        ocean_seams.require_seams()


# ---------------------------------------------------------------- no other module


def product_modules() -> list[Path]:
    files = sorted(ROOT.glob("*.py"))
    for directory in PRODUCT_DIRS:
        files += sorted((ROOT / directory).rglob("*.py"))
    return [path for path in files if path.name != "ocean_seams.py"]


def private_names_defined_in(paths: list[Path]) -> set[str]:
    """Underscore names a set of modules defines: functions, classes, and
    attributes they assign (`self._x = ...`, `_x = ...`)."""
    names: set[str] = set()
    for path in paths:
        try:
            tree = ast.parse(path.read_text(), str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return {name for name in names if is_private(name)}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_other_module_reads_oceans_private_members() -> None:
    ocean_files = list(Path(port_ocean.__file__).parent.rglob("*.py"))
    ocean_private = private_names_defined_in(ocean_files)
    ours = private_names_defined_in(product_modules())
    offenders: list[str] = []
    for path in product_modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and is_private(node.attr)
                and node.attr in ocean_private
                and node.attr not in ours
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == [], "reach Ocean's private members via ocean_seams.py"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def names_in_body(definition: ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for node in definition.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_no_other_module_overrides_oceans_private_members() -> None:
    offenders: list[str] = []
    for path in product_modules():
        if path.name == "main.py":  # registrations only; importing it registers
            continue
        module = importlib.import_module(module_name(path))
        tree = ast.parse(path.read_text(), str(path))
        for definition in tree.body:
            if not isinstance(definition, ast.ClassDef):
                continue
            cls = getattr(module, definition.name)
            ocean_bases = [
                base
                for base in cls.__mro__[1:]
                if base.__module__.startswith("port_ocean")
            ]
            for name in names_in_body(definition):
                if is_private(name) and any(name in vars(b) for b in ocean_bases):
                    offenders.append(f"{module.__name__}.{cls.__name__}.{name}")
    assert offenders == [], "override Ocean's private members in ocean_seams.py"


def test_canary_jq_entity_processor_sync_get_mapped_entity() -> None:
    member = "JQEntityProcessorSync._get_mapped_entity"
    found = getattr(JQEntityProcessorSync, "_get_mapped_entity", None)
    assert found is not None, f"{member} is gone"
    parameters = list(inspect.signature(found).parameters)
    assert parameters == [
        "data",
        "raw_entity_mappings",
        "selector_query",
        "parse_all",
    ], f"{member} takes {parameters}"
    # In-process mapping is identical only while the pool's workers run it.
    pool_worker = inspect.getsource(jq_entity_processor._calculate_entity)
    assert "JQEntityProcessorSync._get_mapped_entity(" in pool_worker, (
        f"Ocean's JQ pool workers no longer map with {member}; mapping small "
        "batches in process could differ from Ocean's"
    )
    parse = inspect.getsource(JQEntityProcessor._parse_items)
    assert "self.parse_items_sync(" in parse, (
        "JQEntityProcessor._parse_items no longer calls parse_items_sync: the "
        "in-process mapping of small batches is off"
    )


@pytest.fixture
async def seams_processor(
    doc_mapping: dict[str, Any],
) -> AsyncIterator[ocean_seams.OceanJQProcessor]:
    """The integration's entity processor, in a started Ocean (pool size etc.)."""
    async with started_ocean(doc_mapping):
        processor = ocean.integration.entity_processor
        assert isinstance(processor, ocean_seams.OceanJQProcessor)
        yield processor


def incident_mappings(doc_mapping: dict[str, Any]) -> dict[str, Any]:
    (block,) = [r for r in doc_mapping["resources"] if r["kind"] == "incidents"]
    mappings: dict[str, Any] = block["port"]["entity"]["mappings"]
    return mappings


async def test_small_batches_map_in_process_exactly_as_oceans_pool_does(
    seams_processor: ocean_seams.OceanJQProcessor,
    doc_mapping: dict[str, Any],
    reference_samples: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mappings = incident_mappings(doc_mapping)
    incident = reference_samples["incident"]
    pooled, _ = await JQEntityProcessor.parse_items_sync(
        seams_processor, mappings, [incident] * 21, "true", True
    )

    def no_fork(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a small batch forked Ocean's JQ process pool")

    monkeypatch.setattr(jq_entity_processor, "ProcessPoolExecutor", no_fork)
    small, errors = await seams_processor.parse_items_sync(
        mappings, [incident], "true", True
    )
    assert errors == []
    (in_process,) = small[0][0]
    assert in_process.entity["identifier"] == incident["id"]
    assert in_process.entity == pooled[0][0][0].entity
    assert in_process.did_entity_pass_selector is True


async def test_a_pages_pool_runs_with_cyclic_collection_paused(
    seams_processor: ocean_seams.OceanJQProcessor,
    doc_mapping: dict[str, Any],
    reference_samples: dict[str, Any],
) -> None:
    """While Ocean's forked workers map a page, this process's collector does
    not run (it would copy the heap into each worker: collector.py)."""
    assert gc.isenabled()
    page = [reference_samples["incident"]] * 21
    mapping = asyncio.create_task(
        seams_processor.parse_items_sync(
            incident_mappings(doc_mapping), page, "true", True
        )
    )
    seen: set[bool] = set()
    while not mapping.done():
        seen.add(gc.isenabled())
        await asyncio.sleep(0.001)
    results, errors = await mapping
    assert errors == [] and len(results) == 21
    assert False in seen
    assert gc.isenabled()
