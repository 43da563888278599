"""The shipped mapping, blueprints and examples agree with each other."""

import json
from typing import Any

import jq
import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / ".port/examples"
BLUEPRINTS = {
    bp["identifier"]: bp
    for bp in json.loads((ROOT / ".port/resources/blueprints.json").read_text())
}
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "array": list,
    "object": dict,
    "boolean": bool,
}


def run(expression: str, data: dict[str, Any]) -> Any:
    return jq.compile(expression).input_value(data).first()


@pytest.mark.parametrize(
    "kind",
    [
        "teams",
        "users",
        "schedules",
        "escalation_policies",
        "services",
        "oncalls",
        "incidents",
        "business_services",
        "maintenance_windows",
        "change_events",
        "priorities",
    ],
)
def test_default_mapping_fits_its_blueprint_on_the_example(
    default_mapping: dict[str, Any], kind: str
) -> None:
    (resource,) = [r for r in default_mapping["resources"] if r["kind"] == kind]
    mappings = resource["port"]["entity"]["mappings"]
    example = json.loads((EXAMPLES / f"{kind}.response.json").read_text())
    blueprint = BLUEPRINTS[run(mappings["blueprint"], example)]

    assert run(mappings["identifier"], example)
    schema = blueprint["schema"]["properties"]
    for name, expression in mappings.get("properties", {}).items():
        value = run(expression, example)
        assert name in schema, f"{kind}: {name} is not in {blueprint['identifier']}"
        if value is not None:
            assert isinstance(value, JSON_TYPES[schema[name]["type"]]), (
                kind,
                name,
                value,
            )
    for name, expression in mappings.get("relations", {}).items():
        value = run(expression, example)
        relation = blueprint["relations"][name]
        assert isinstance(value, list) == relation["many"], (kind, name, value)
