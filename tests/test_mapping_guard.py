"""The mapping guard: a broken JQ expression fails its block instead of nulling data."""

import copy
from typing import Any
from unittest.mock import MagicMock

import jq
import pytest
from port_ocean.core.handlers.port_app_config.models import ResourceConfig

from integration import PagerDutyPortAppConfig
from mapping_guard import (
    GuardedJQEntityProcessor,
    MappingError,
    MappingGuard,
    mapping_expressions,
)

INCIDENTS: list[dict[str, Any]] = [
    {
        "id": "Q1",
        "title": "Disk full",
        "status": "resolved",
        "service": {"id": "S1"},
        "assignments": [],
    },
    {
        "id": "Q2",
        "title": "CPU",
        "status": "triggered",
        "service": {"id": "S1"},
        "assignments": [{"assignee": {"summary": "Ann"}}],
    },
]

BLOCK: dict[str, Any] = {
    "kind": "incidents",
    "selector": {"query": "true"},
    "port": {
        "entity": {
            "mappings": {
                "identifier": ".id",
                "title": ".title",
                "blueprint": '"pagerdutyIncident"',
                "properties": {"status": ".status", "missing": ".no.such.field"},
                "relations": {
                    "pagerdutyService": ".service.id",
                    "owner": {
                        "combinator": '"and"',
                        "rules": [
                            {
                                "property": '"$identifier"',
                                "operator": '"="',
                                "value": ".service.id",
                            }
                        ],
                    },
                },
            }
        }
    },
}


def block(change: str | None = None, expression: str | None = None) -> ResourceConfig:
    raw = copy.deepcopy(BLOCK)
    if change is not None:
        target: dict[str, Any] = raw
        *parents, last = change.split(".")
        for part in parents:
            target = target[part]
        target[last] = expression
    config = PagerDutyPortAppConfig.parse_obj({"resources": [raw]})
    resource: ResourceConfig = config.resources[0]
    return resource


MAPPINGS = "port.entity.mappings"


def guard() -> MappingGuard:
    return MappingGuard(jq.compile)


def test_every_expression_is_found() -> None:
    fields = {e.field for e in mapping_expressions(block())}
    assert fields >= {
        "selector.query",
        "identifier",
        "title",
        "blueprint",
        "properties.status",
        "properties.missing",
        "relations.pagerdutyService",
        "relations.owner.combinator",
        "relations.owner.rules[0].property",
        "relations.owner.rules[0].operator",
        "relations.owner.rules[0].value",
    }


def test_a_valid_mapping_passes_and_nulls_from_missing_fields_are_fine() -> None:
    guard().check(block(), INCIDENTS)


@pytest.mark.parametrize(
    "change, expression, problem",
    [
        (f"{MAPPINGS}.properties.status", ".status |", "does not compile"),
        (f"{MAPPINGS}.properties.status", ".status | tonumber", "fails at runtime"),
        (f"{MAPPINGS}.identifier", ".id |", "does not compile"),
        (f"{MAPPINGS}.title", ".title[0]", "fails at runtime"),
        (f"{MAPPINGS}.blueprint", '"unterminated', "does not compile"),
        (f"{MAPPINGS}.icon", "nosuchfunction(1)", "does not compile"),
        (f"{MAPPINGS}.team", ".service.id.x", "fails at runtime"),
        (f"{MAPPINGS}.relations.pagerdutyService", ".service.id[0]", "runtime"),
        (
            f"{MAPPINGS}.relations.owner.rules",
            [{"property": '"$identifier"', "operator": '"="', "value": ".id |"}],
            "does not compile",
        ),
        ("selector.query", ".status ==", "does not compile"),
        ("selector.query", ".status", "must give true or false"),
        ("port.itemsToParse", ".assignments |", "does not compile"),
    ],
)
def test_a_broken_expression_fails_the_block_naming_it(
    change: str, expression: Any, problem: str
) -> None:
    resource = block(change, expression)
    with pytest.raises(MappingError) as raised:
        guard().check(resource, INCIDENTS)
    message = str(raised.value)
    field = change.removeprefix(f"{MAPPINGS}.").removeprefix("port.")
    field = field.split(".rules")[0]
    assert field in message
    assert problem in message
    assert "kind 'incidents'" in message


def test_an_expression_that_fails_only_on_some_objects_is_data_dependent() -> None:
    resource = block(
        f"{MAPPINGS}.properties.responder",
        ".assignments[0].assignee.summary | ascii_downcase",
    )
    guard().check(resource, INCIDENTS)
    with pytest.raises(MappingError, match="explode input must be a string"):
        guard().check(resource, INCIDENTS[:1])


def test_compiles_once_per_mapping() -> None:
    compiled: list[str] = []

    def counting_compile(source: str) -> Any:
        compiled.append(source)
        return jq.compile(source)

    checker = MappingGuard(counting_compile)
    for _ in range(5):
        checker.check(block(), INCIDENTS)
    assert len(compiled) == len(mapping_expressions(block()))


def test_empty_batches_are_only_compiled() -> None:
    guard().check(block(f"{MAPPINGS}.properties.status", ".status[0]"), [])
    with pytest.raises(MappingError):
        guard().check(block(f"{MAPPINGS}.properties.status", ".status |"), [])


async def test_items_to_parse_failures_raise_instead_of_dropping_objects() -> None:
    processor = GuardedJQEntityProcessor(MagicMock())
    processor._compile = jq.compile
    data = {"id": "Q1", "assignments": [{"a": 1}]}
    assert await processor._search(data, ".assignments") == [{"a": 1}]
    assert await processor._search(data, ".nothing") is None
    with pytest.raises(MappingError, match="itemsToParse.*does not compile"):
        await processor._search(data, ".assignments |")
    with pytest.raises(MappingError, match="fails at runtime"):
        await processor._search(data, ".id[0]")
    # Mapping fields keep Ocean's per-object behaviour (checked per block instead).
    assert await processor._search(data, ".id[0]", field="properties.x") is None
