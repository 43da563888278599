"""The reference doc's sample payloads must map to exactly the entities it shows."""

import copy
import json
from typing import Any

from port_ocean.integration_testing import (
    IntegrationTestHarness,
    InterceptTransport,
)

from tests.conftest import ROOT

API = "https://api.pagerduty.com"


def pagerduty_transport(samples: dict[str, Any]) -> InterceptTransport:
    service = copy.deepcopy(samples["service"])
    oncalls = service.pop("__oncall_user")
    # A level-2 on-call listed first proves the client orders by level.
    level_two = copy.deepcopy(oncalls[0]) | {"escalation_level": 2}
    level_two["user"] = level_two["user"] | {"email": "second@pager-demo.com"}
    transport = InterceptTransport(strict=True)
    transport.add_route(
        "GET",
        f"{API}/services",
        {"json": {"services": [service], "more": False, "offset": 0, "limit": 100}},
    )
    transport.add_route(
        "GET",
        f"{API}/oncalls",
        {"json": {"oncalls": [level_two, *oncalls], "more": False}},
    )
    transport.add_route(
        "POST",
        f"{API}/analytics/metrics/incidents/services",
        {"json": {"data": []}},
    )
    transport.add_route(
        "GET",
        f"{API}/incidents",
        {"json": {"incidents": [samples["incident"]], "more": False}},
    )
    return transport


async def run_resync(
    samples: dict[str, Any], mapping: dict[str, Any]
) -> tuple[list[dict[str, Any]], InterceptTransport]:
    transport = pagerduty_transport(samples)
    harness = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=mapping,
        third_party_transport=transport,
        config_overrides={
            "integration": {
                "identifier": "pagerduty-contract",
                "type": "pagerduty",
                "config": {"token": "contract-test-token-0000", "api_url": API},
            }
        },
    )
    await harness.start()
    try:
        result = await harness.trigger_resync()
    finally:
        await harness.shutdown()
    assert result.errors == []
    return result.upserted_entities, transport


def expected_entity(doc_entity: dict[str, Any]) -> dict[str, Any]:
    return {
        key: doc_entity[key]
        for key in ("identifier", "title", "blueprint", "properties", "relations")
    }


def landed(entities: list[dict[str, Any]], identifier: str) -> dict[str, Any]:
    (entity,) = [e for e in entities if e["identifier"] == identifier]
    return {
        key: entity.get(key, {})
        for key in ("identifier", "title", "blueprint", "properties", "relations")
    }


async def test_doc_samples_map_to_doc_entities(
    reference_samples: dict[str, Any], doc_mapping: dict[str, Any]
) -> None:
    entities, transport = await run_resync(reference_samples, doc_mapping)

    assert landed(entities, "PGAAJBE") == expected_entity(
        reference_samples["service_entity"]
    )
    expected_incident = expected_entity(reference_samples["incident_entity"])
    # The doc's own example shows timestamps of another incident; ours are the
    # payload's own.
    incident = reference_samples["incident"]
    expected_incident["properties"]["created_at"] = incident["created_at"]
    expected_incident["properties"]["updated_at"] = incident["updated_at"]
    assert landed(entities, "Q1P3AHC3KLGVAS") == expected_incident
    assert len(entities) == 2

    (oncall_call,) = transport.calls_for("/oncalls")
    params = oncall_call.request.url.params
    assert params.get_list("escalation_policy_ids[]") == ["P7LVMYP"]
    assert params.get_list("include[]") == ["users"]


async def test_oncall_enrichment_is_what_the_mapping_reads(
    reference_samples: dict[str, Any], doc_mapping: dict[str, Any]
) -> None:
    """Without `__oncall_user` the doc's oncall property would be null."""
    mapping = json.loads(json.dumps(doc_mapping))
    mapping["resources"] = mapping["resources"][:1]
    properties = mapping["resources"][0]["port"]["entity"]["mappings"]["properties"]
    properties["levels"] = "[.__oncall_user[].escalation_level]"
    entities, _ = await run_resync(reference_samples, mapping)
    (service,) = entities
    assert service["properties"]["oncall"] == "devops-port@pager-demo.com"
    assert service["properties"]["levels"] == [1, 2]


def test_examples_are_the_doc_payloads(reference_samples: dict[str, Any]) -> None:
    examples = ROOT / ".port/examples"
    service = json.loads((examples / "services.response.json").read_text())
    incident = json.loads((examples / "incidents.response.json").read_text())
    assert service == reference_samples["service"]
    assert incident == reference_samples["incident"]
