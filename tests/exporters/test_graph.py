"""Service graph exporters against the PagerDuty simulator in process: one
dependency request per selected service (plus business service), relations
only to what the mapping selects, supporting services first, maintenance
windows mapped with jq's `now`, change events past the offset cap."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jq
import pytest
import yaml
from port_ocean.context.event import EventType, event_context

import exporters.dependencies as dependencies
from client import PagerDutyClient
from exporters.dependencies import (
    DEPENDENCIES_FIELD,
    SELECTED_SERVICES_FIELD,
    UNSELECTED_FIELD,
)
from exporters.graph import (
    BusinessServiceExporter,
    ChangeEventExporter,
    MaintenanceWindowExporter,
)
from exporters.maintenance import MAINTENANCE_FIELD
from exporters.services import ServiceExporter
from integration import PagerDutyPortAppConfig
from sandbox.pagerduty import PagerDutySim, SimConfig, create_app
from sandbox.pagerduty.store import iso
from tests.conftest import ROOT

TOKEN = "graph-token-0123456789abcdef"
TECHNICAL_READS = "GET /service_dependencies/technical_services/{id}"
BUSINESS_READS = "GET /service_dependencies/business_services/{id}"


@pytest.fixture(autouse=True)
def no_selections_known() -> Iterator[None]:
    dependencies.forget_selections()
    yield
    dependencies.forget_selections()


def simulator(
    services: int = 40, teams: int = 4
) -> tuple[PagerDutyClient, PagerDutySim]:
    config = SimConfig(
        services=services,
        incidents=20,
        teams=teams,
        token=TOKEN,
        rate_limit_per_minute=0,
    )
    app = create_app(config)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    )
    return PagerDutyClient(TOKEN, "http://sim", http_client=http), app.state.sim


def block(kind: str, **selector: Any) -> Any:
    raw = {
        "kind": kind,
        "selector": {"query": "true", **selector},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": '"x"'}}},
    }
    return PagerDutyPortAppConfig.parse_obj({"resources": [raw]}).resources[0]


def reads(sim: PagerDutySim, endpoint: str) -> int:
    return int(sim.counters.by_endpoint.get(endpoint, 0))


def edges(sim: PagerDutySim, dependent_type: str) -> set[tuple[str, str]]:
    return {
        (e["dependent_service"]["id"], e["supporting_service"]["id"])
        for e in sim.store.dependencies
        if e["dependent_service"]["type"] == dependent_type
    }


async def listed(exporter: Any, selector: Any) -> list[dict[str, Any]]:
    return [obj async for page in exporter.pages(selector) for obj in page]


async def test_one_dependency_request_per_selected_service_and_no_other() -> None:
    client, sim = simulator(teams=2)
    team = sorted(sim.store.teams)[0]
    services = block(
        "services",
        apiQueryParams={"team_ids": [team]},
        query='.name | test("-00(0[5-9]|1[0-2])$") | not',  # the query drops more
        includeDependencies=True,
        serviceAnalytics=False,
    )
    found = await listed(ServiceExporter(client), services.selector)

    in_team = [
        s for s in sim.store.services.values() if team in {t["id"] for t in s["teams"]}
    ]
    dropped = {f"-{n:04d}" for n in range(5, 13)}
    selected = {s["id"] for s in in_team if s["name"][-5:] not in dropped}
    assert {s["id"] for s in found} == {s["id"] for s in in_team}
    assert 0 < len(selected) < len(in_team) < len(sim.store.services)
    assert reads(sim, TECHNICAL_READS) == len(selected)

    graph = edges(sim, "technical_service_reference")
    counted = [0, 0]  # dependencies kept, left out
    for service in found:
        inside = {d["id"] for d in service[DEPENDENCIES_FIELD]}
        outside = {d["id"] for d in service[UNSELECTED_FIELD]}
        if service["id"] not in selected:
            assert inside == outside == set()
            continue
        supporting = {s for d, s in graph if d == service["id"]}
        assert inside == supporting & selected
        assert outside == supporting - selected
        counted[0] += len(inside)
        counted[1] += len(outside)
    assert all(counted), counted  # both kinds occur
    # Supporting services come first: no relation names an entity not yet written.
    seen: set[str] = set()
    for service in found:
        assert {d["id"] for d in service[DEPENDENCIES_FIELD]} <= seen
        seen.add(service["id"])


async def test_without_the_option_no_dependency_is_read() -> None:
    client, sim = simulator()
    services = block("services", serviceAnalytics=False)
    found = await listed(ServiceExporter(client), services.selector)
    assert len(found) == 40 and DEPENDENCIES_FIELD not in found[0]
    assert reads(sim, TECHNICAL_READS) == 0


async def test_business_services_read_one_request_each_and_point_at_selected_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, sim = simulator()
    team = sorted(sim.store.teams)[1]
    services = block("services", apiQueryParams={"team_ids": [team]})
    business = block("business_services", includeDependencies=True)
    mapping = {"services": [services], "business_services": [business]}
    monkeypatch.setattr(
        dependencies, "mapping_blocks", lambda kind: mapping.get(kind, [])
    )

    found = await listed(BusinessServiceExporter(client), business.selector)

    assert reads(sim, BUSINESS_READS) == len(sim.store.business_services) == len(found)
    assert reads(sim, TECHNICAL_READS) == 0
    # The services block had not run: its selection is listed once, not read per service.
    assert reads(sim, "GET /services") == 1
    in_team = {
        s["id"]
        for s in sim.store.services.values()
        if team in {t["id"] for t in s["teams"]}
    }
    graph = edges(sim, "business_service_reference")
    for item in found:
        supporting = {s for d, s in graph if d == item["id"]}
        inside = {d["id"] for d in item[DEPENDENCIES_FIELD]}
        outside = {d["id"] for d in item[UNSELECTED_FIELD]}
        assert inside | outside == supporting and not inside & outside
        assert inside == {
            s for s in supporting if s in in_team or s in sim.store.business_services
        }
    assert any(
        d["type"] == "business_service_reference"
        for i in found
        for d in i[DEPENDENCIES_FIELD]
    )

    # A second pass reuses the selection it now knows.
    await listed(BusinessServiceExporter(client), business.selector)
    assert reads(sim, "GET /services") == 1


def in_maintenance(service: dict[str, Any]) -> bool:
    mapping = yaml.safe_load(
        (ROOT / ".port/resources/port-app-config.yaml").read_text()
    )
    (services,) = [r for r in mapping["resources"] if r["kind"] == "services"]
    expression = services["port"]["entity"]["mappings"]["properties"]["inMaintenance"]
    return bool(jq.compile(expression).input_value(service).first())


async def test_services_carry_their_open_windows_and_the_mapping_reads_now() -> None:
    client, sim = simulator()
    services = block("services", includeMaintenanceWindows=True, serviceAnalytics=False)
    found = await listed(ServiceExporter(client), services.selector)
    assert reads(sim, "GET /maintenance_windows") == 1

    now = datetime.now(UTC).timestamp()
    ongoing = {
        s["id"]
        for w in sim.store.maintenance_windows.values()
        if datetime.fromisoformat(w["start_time"]).timestamp()
        <= now
        < datetime.fromisoformat(w["end_time"]).timestamp()
        for s in w["services"]
    }
    assert ongoing
    assert {s["id"] for s in found if in_maintenance(s)} == ongoing
    carrying = [s for s in found if s[MAINTENANCE_FIELD]]
    assert all(entry["end"] > now for s in carrying for entry in s[MAINTENANCE_FIELD])
    # A window that has not started yet does not count, until it starts.
    future = next(s for s in carrying if s["id"] not in ongoing)
    assert not in_maintenance(future)
    started = {
        **future,
        MAINTENANCE_FIELD: [{**e, "start": 0} for e in future[MAINTENANCE_FIELD]],
    }
    assert in_maintenance(started)


async def test_windows_and_change_events_name_only_selected_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, sim = simulator()
    team = sorted(sim.store.teams)[0]
    services = block("services", apiQueryParams={"team_ids": [team]})
    monkeypatch.setattr(
        dependencies,
        "mapping_blocks",
        lambda kind: [services] if kind == "services" else [],
    )
    in_team = {
        s["id"]
        for s in sim.store.services.values()
        if team in {t["id"] for t in s["teams"]}
    }

    windows = block("maintenance_windows", apiQueryParams={"filter": "all"})
    found = await listed(MaintenanceWindowExporter(client), windows.selector)
    assert len(found) == len(sim.store.maintenance_windows)
    for window in found:
        covered = [s["id"] for s in window["services"]]
        assert window[SELECTED_SERVICES_FIELD] == [s for s in covered if s in in_team]

    events = await listed(ChangeEventExporter(client), block("change_events").selector)
    for event in events:
        covered = [s["id"] for s in event["services"]]
        assert event[SELECTED_SERVICES_FIELD] == [s for s in covered if s in in_team]
    assert reads(sim, "GET /services") == 1  # the selection, listed once


async def test_change_events_of_the_lookback_past_the_offset_cap() -> None:
    client, sim = simulator(services=10)
    now = datetime.now(UTC)
    template = sim.store.change_events[0]
    extra = [
        {
            **template,
            "id": f"01SYNTH{index:019d}",
            "timestamp": iso((now - timedelta(seconds=40 * index + 30)).timestamp()),
        }
        for index in range(12_000)  # about 5.6 days of events, one every 40 s
    ]
    sim.store.change_events = sorted(
        sim.store.change_events + extra, key=lambda e: e["timestamp"], reverse=True
    )
    since = (now - timedelta(days=7)).timestamp()
    expected = {
        e["id"]
        for e in sim.store.change_events
        if since <= datetime.fromisoformat(e["timestamp"]).timestamp()
    }
    events = await listed(ChangeEventExporter(client), block("change_events").selector)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))  # a boundary event once
    # Within a second of the window's start, rounding aside: every event of the week.
    assert set(ids) >= {i for i in expected if i.startswith("01SYNTH")}
    assert set(ids) <= {e["id"] for e in sim.store.change_events}
    pages = reads(sim, "GET /change_events")
    assert pages <= len(ids) / 100 * 1.3 + 8, pages
    assert sim.counters.by_status.get(400, 0) == 0


async def test_an_event_without_a_mapping_uses_every_known_selection() -> None:
    """Outside an event, or in one that holds no mapping (a timetable write, a
    live event before the mapping was read), the kind's known selections count."""
    services = block("services", apiQueryParams={"team_ids": ["T1"]})
    dependencies.record_selection("services", services.selector, ["S1", "S2"])
    dependencies.record_selection("services", block("services").selector, ["S3"])
    dependencies.record_selection(
        "business_services", block("business_services").selector, ["B1"]
    )
    assert dependencies.mapping_blocks("services") is None
    client, _ = simulator(services=2)
    async with event_context(EventType.HTTP_REQUEST, trigger_type="machine"):
        assert dependencies.mapping_blocks("services") is None
        assert await dependencies.selected_ids(client, "services") == {"S1", "S2", "S3"}
