"""block_removal: what an incremental pass removes from a block, as a live event would."""

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jq
import pytest
from port_ocean.core.handlers.port_app_config.models import ResourceConfig
from port_ocean.core.models import Entity

import block_removal
from client import JSON
from exporters.incidents import matches_selector
from integration import IncidentResourceConfig, PagerDutyPortAppConfig


def incidents_block(
    blueprint: str, statuses: list[str] | None = None, query: str = "true"
) -> dict[str, Any]:
    params: dict[str, Any] = {"date_range": "all"}
    if statuses:
        params["statuses"] = statuses
    return {
        "kind": "incidents",
        "selector": {"query": query, "apiQueryParams": params},
        "port": {
            "entity": {
                "mappings": {
                    "identifier": ".id | tostring",
                    "blueprint": f'"{blueprint}"',
                    "properties": {"status": ".status", "first": ".assignments[0]"},
                }
            }
        },
    }


def entity_of(blueprint: str, identifier: str) -> Entity:
    return Entity.parse_obj({"identifier": identifier, "blueprint": blueprint})


def run_jq(expression: str, data: JSON) -> Any:
    return jq.compile(expression).input(data).first()


@dataclass
class FakeProcessor:
    """Maps like Ocean's JQ processor: identifier, blueprint, selector.query."""

    mapped_fields: list[set[str]] = field(default_factory=list)

    async def parse_items(
        self, block: ResourceConfig, objects: list[JSON], parse_all: bool = False
    ) -> Any:
        mappings = block.port.entity.mappings
        self.mapped_fields.append(set(mappings.dict(exclude_unset=True)))
        passed: list[Entity] = []
        failed: list[Entity] = []
        for item in objects:
            entity = entity_of(
                run_jq(mappings.blueprint, item),
                run_jq(str(mappings.identifier), item),
            )
            if run_jq(block.selector.query, item):
                passed.append(entity)
            elif parse_all:
                failed.append(entity)
        diff = SimpleNamespace(passed=passed, failed=failed)
        return SimpleNamespace(entity_selector_diff=diff, errors=[])


@dataclass
class FakePort:
    existing: set[tuple[str, str]]
    searches: int = 0

    async def search_entities(
        self, user_agent_type: Any, query: dict[str, Any]
    ) -> list[Entity]:
        self.searches += 1
        rules = {rule["property"]: rule["value"] for rule in query["rules"]}
        return [
            entity_of(blueprint, identifier)
            for blueprint, identifier in self.existing
            if blueprint == rules["$blueprint"] and identifier in rules["$identifier"]
        ]


@dataclass
class Sandbox:
    """Fakes of what block_removal uses of Ocean: the entity processor, Port's
    search, `ocean.unregister` and the event's mapping."""

    processor: FakeProcessor = field(default_factory=FakeProcessor)
    port: FakePort = field(default_factory=lambda: FakePort(set()))
    unregistered: list[Entity] = field(default_factory=list)
    blocks: list[ResourceConfig] = field(default_factory=list)

    def configure(self, *blocks: dict[str, Any]) -> None:
        config = PagerDutyPortAppConfig.parse_obj({"resources": list(blocks)})
        self.blocks[:] = config.resources

    async def unregister(self, entities: list[Entity]) -> None:
        self.unregistered += entities


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    state = Sandbox()
    fake_ocean = SimpleNamespace(
        integration=SimpleNamespace(entity_processor=state.processor),
        port_client=state.port,
        unregister=state.unregister,
    )
    fake_event = SimpleNamespace(
        port_app_config=SimpleNamespace(resources=state.blocks)
    )
    monkeypatch.setattr(block_removal, "ocean", fake_ocean)
    monkeypatch.setattr(block_removal, "event", fake_event)
    return state


def belongs(block: ResourceConfig, incident: JSON) -> bool:
    assert isinstance(block, IncidentResourceConfig)
    return matches_selector(incident, block.selector)


def keys(entities: list[Entity]) -> set[tuple[str, str]]:
    return {(e.blueprint, e.identifier) for e in entities}


async def test_an_incident_that_left_the_block_is_removed_when_port_has_it(
    sandbox: Sandbox,
) -> None:
    sandbox.configure(incidents_block("open", ["triggered", "acknowledged"]))
    sandbox.port.existing = {("open", "Q1")}
    left = [{"id": "Q1", "status": "resolved"}, {"id": "Q2", "status": "resolved"}]

    removed = await block_removal.remove_from_block(
        sandbox.blocks[0], left, [], belongs
    )

    assert keys(removed) == {("open", "Q1")}, "Q2 never was in Port"
    assert keys(sandbox.unregistered) == {("open", "Q1")}
    # Only what names the entity is mapped: no property can fail on a stub.
    assert sandbox.processor.mapped_fields == [{"identifier", "blueprint"}]


async def test_an_incident_gone_from_pagerduty_is_removed_from_its_id(
    sandbox: Sandbox,
) -> None:
    sandbox.configure(incidents_block("open", ["triggered"]))
    sandbox.port.existing = {("open", "Q9")}
    removed = await block_removal.remove_from_block(
        sandbox.blocks[0], [{"id": "Q9"}], [], belongs
    )
    assert keys(removed) == {("open", "Q9")}


async def test_another_block_of_the_kind_that_still_writes_it_keeps_it(
    sandbox: Sandbox,
) -> None:
    sandbox.configure(
        incidents_block("shared", ["triggered", "acknowledged"]),
        incidents_block("shared"),
        incidents_block("archive"),
    )
    sandbox.port.existing = {("shared", "Q1"), ("archive", "Q1")}
    left = [{"id": "Q1", "status": "resolved"}]

    removed = await block_removal.remove_from_block(
        sandbox.blocks[0], left, [], belongs
    )

    assert removed == [], "block #1 writes shared/Q1 in the same pass"
    assert sandbox.unregistered == []


async def test_kept_incidents_that_fail_the_query_are_removed(
    sandbox: Sandbox,
) -> None:
    sandbox.configure(incidents_block("high", query='.urgency == "high"'))
    sandbox.port.existing = {("high", "Q3"), ("high", "Q4")}
    kept = [{"id": "Q3", "urgency": "low"}, {"id": "Q4", "urgency": "high"}]

    removed = await block_removal.remove_from_block(
        sandbox.blocks[0], [], kept, belongs
    )

    assert keys(removed) == {("high", "Q3")}


async def test_nothing_to_remove_asks_port_nothing(sandbox: Sandbox) -> None:
    sandbox.configure(incidents_block("all"))
    kept = [{"id": "Q5", "status": "triggered"}]
    assert (
        await block_removal.remove_from_block(sandbox.blocks[0], [], kept, belongs)
        == []
    )
    assert sandbox.port.searches == 0
    assert sandbox.processor.mapped_fields == [], "a trivial query maps nothing"


async def test_a_search_identifier_is_not_removed(sandbox: Sandbox) -> None:
    block = incidents_block("open", ["triggered"])
    block["port"]["entity"]["mappings"]["identifier"] = {
        "combinator": "and",
        "rules": [{"property": "x", "operator": "=", "value": ".id"}],
    }
    sandbox.configure(block)
    left = [{"id": "Q1", "status": "resolved"}]
    assert (
        await block_removal.remove_from_block(sandbox.blocks[0], left, [], belongs)
        == []
    )
    assert sandbox.port.searches == 0
