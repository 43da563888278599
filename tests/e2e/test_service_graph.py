"""The service graph, end to end: one `ocean sail` ONCE with the shipped
defaults fills business services, maintenance windows, change events and
priorities without schema mismatches; every dependency edge of the simulator is
exactly one relation entry in Port, in the right direction; dependencies cost
one request per service and per business service; no placeholder entity is
created, not even for a moment."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.stack import Run, SimSettings, Stack, sandbox_stack
from tests.e2e.test_default_catalog import relation_targets

GRAPH_BLUEPRINTS = {
    "pagerdutyBusinessService",
    "pagerdutyMaintenanceWindow",
    "pagerdutyChangeEvent",
    "pagerdutyPriority",
}
TECHNICAL = "technical_service_reference"
BUSINESS = "business_service_reference"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    settings = SimSettings(services=30, incidents=100, teams=3, users=12, seed=11)
    with sandbox_stack(settings) as running:
        yield running


@pytest.fixture(scope="module")
def first_run(stack: Stack) -> Run:
    run = stack.run_once()
    print(f"ONCE run with the shipped defaults: {run.seconds:.1f} s")
    return run


def test_graph_blueprints_fill_without_mismatches_or_placeholders(
    stack: Stack, first_run: Run
) -> None:
    assert first_run.exit_code == 0, first_run.output[-3000:]
    catalog = stack.catalog()
    stats = stack.pagerduty.get("/_sim/stats")
    assert {bp for bp, entities in catalog.items() if entities} >= GRAPH_BLUEPRINTS
    assert len(catalog["pagerdutyBusinessService"]) == stats["business_services"]
    assert len(catalog["pagerdutyPriority"]) == stats["priorities"]
    mismatches = stack.port.get("/_standin/mismatches")
    assert mismatches["count"] == 0, mismatches["mismatches"][:5]
    assert relation_targets(stack) == []
    # (Other kinds' relations are not this test's business, e.g. team -> users.)
    stubs = stack.port.get("/_standin/deleted")["stubsCreated"]
    assert [
        stub
        for stub in stubs
        if stub["blueprint"] in GRAPH_BLUEPRINTS | {"pagerdutyService"}
        or stub["by"].split("/")[0] in GRAPH_BLUEPRINTS
    ] == []
    for entity in catalog["pagerdutyChangeEvent"].values():
        assert entity["properties"]["url"].startswith("https://")
        assert entity["relations"]["services"]


def test_every_dependency_edge_is_exactly_one_relation_entry(
    stack: Stack, first_run: Run
) -> None:
    edges = stack.pagerduty.get("/_sim/graph")["dependencies"]
    expected: list[tuple[str, str, str, str]] = []
    for edge in edges:
        dependent, supporting = edge["dependent_service"], edge["supporting_service"]
        if dependent["type"] == TECHNICAL:
            expected.append(
                ("pagerdutyService", dependent["id"], "dependsOn", supporting["id"])
            )
        elif supporting["type"] == TECHNICAL:
            expected.append(
                (
                    "pagerdutyBusinessService",
                    dependent["id"],
                    "dependsOn",
                    supporting["id"],
                )
            )
        else:
            expected.append(
                (
                    "pagerdutyBusinessService",
                    dependent["id"],
                    "dependsOnBusinessServices",
                    supporting["id"],
                )
            )
    catalog = stack.catalog()
    shown: list[tuple[str, str, str, str]] = []
    for blueprint in ("pagerdutyService", "pagerdutyBusinessService"):
        for identifier, entity in catalog[blueprint].items():
            relations: dict[str, Any] = entity.get("relations") or {}
            for name in ("dependsOn", "dependsOnBusinessServices"):
                shown += [
                    (blueprint, identifier, name, t) for t in relations.get(name) or []
                ]
    assert len(expected) >= 20 and any(
        e[2] == "dependsOnBusinessServices" for e in expected
    )
    duplicates = [entry for entry, n in Counter(shown).items() if n > 1]
    assert duplicates == []
    assert sorted(shown) == sorted(expected)


def test_dependencies_cost_one_request_per_service_and_business_service(
    stack: Stack, first_run: Run
) -> None:
    calls = stack.api_calls()["by_endpoint"]
    stats = stack.pagerduty.get("/_sim/stats")
    technical = calls.get("GET /service_dependencies/technical_services/{id}", 0)
    business = calls.get("GET /service_dependencies/business_services/{id}", 0)
    print(
        f"dependency reads: {technical} technical (services: {stats['services']}), "
        f"{business} business (business services: {stats['business_services']})"
    )
    assert technical == stats["services"]
    assert business == stats["business_services"]
    assert calls.get("GET /maintenance_windows", 0) == 2  # services' windows, the kind


def test_in_maintenance_is_true_exactly_for_the_services_an_ongoing_window_covers(
    stack: Stack, first_run: Run
) -> None:
    now = datetime.now(UTC)
    covered = {
        service["id"]
        for window in stack.pagerduty.get("/_sim/graph")["maintenance_windows"]
        if datetime.fromisoformat(window["start_time"])
        <= now
        < datetime.fromisoformat(window["end_time"])
        for service in window["services"]
    }
    services = stack.catalog()["pagerdutyService"]
    shown = {i for i, e in services.items() if e["properties"]["inMaintenance"]}
    assert covered and shown == covered
    assert all(
        isinstance(e["properties"]["inMaintenance"], bool) for e in services.values()
    )
