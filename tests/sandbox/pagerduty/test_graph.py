"""The service graph: dependencies, maintenance windows, change events, control."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from sandbox.pagerduty.store import iso
from tests.sandbox.pagerduty.helpers import (
    NOW,
    fetch_all,
    iso_to_ts,
    response_violations,
    sim_client,
)

TECHNICAL = "technical_service_reference"
BUSINESS = "business_service_reference"


def edges(relationships: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {
        (r["dependent_service"]["id"], r["supporting_service"]["id"])  # type: ignore[index]
        for r in relationships
    }


async def test_the_dependency_graph_has_chains_fan_in_and_business_services_on_top() -> (
    None
):
    async with sim_client() as (client, sim):
        graph = (await client.get("/_sim/graph")).json()["dependencies"]
        services = await fetch_all(client, "/services", "services")
        order = {s["id"]: index for index, s in enumerate(services)}
        businesses = {b["id"] for b in sim.store.business_services.values()}
        technical = [e for e in graph if e["dependent_service"]["type"] == TECHNICAL]
        # A DAG over the services in name order: each depends on earlier ones.
        assert technical and all(
            order[e["supporting_service"]["id"]] < order[e["dependent_service"]["id"]]
            for e in technical
        )
        chains = [
            e
            for e in technical
            if order[e["dependent_service"]["id"]]
            == order[e["supporting_service"]["id"]] + 1
        ]
        assert len(chains) >= 3
        fan_in = Counter(e["supporting_service"]["id"] for e in technical)
        assert max(fan_in.values()) >= 3
        # Technical services never depend on business services.
        assert all(e["supporting_service"]["type"] == TECHNICAL for e in technical)
        on_top = [e for e in graph if e["dependent_service"]["type"] == BUSINESS]
        assert {e["dependent_service"]["id"] for e in on_top} == businesses
        assert any(e["supporting_service"]["type"] == BUSINESS for e in on_top)
        assert len({e["id"] for e in graph}) == len(graph)
        assert len(edges(graph)) == len(graph)  # no edge twice


async def test_each_service_answers_its_immediate_relationships_both_ways() -> None:
    async with sim_client() as (client, sim):
        graph = sim.store.dependencies
        for service_id in list(sim.store.services)[:8]:
            answer = await client.get(
                f"/service_dependencies/technical_services/{service_id}"
            )
            assert answer.status_code == 200
            expected = {
                (e["dependent_service"]["id"], e["supporting_service"]["id"])
                for e in graph
                if service_id
                in (e["dependent_service"]["id"], e["supporting_service"]["id"])
            }
            assert edges(answer.json()["relationships"]) == expected
        business_id = next(iter(sim.store.business_services))
        answer = await client.get(
            f"/service_dependencies/business_services/{business_id}"
        )
        assert answer.status_code == 200
        assert all(
            business_id in pair for pair in edges(answer.json()["relationships"])
        )
        wrong = await client.get(
            f"/service_dependencies/technical_services/{business_id}"
        )
        assert wrong.status_code == 404
        assert (
            await client.get("/service_dependencies/business_services/PNOSUCH")
        ).status_code == 404
        assert response_violations(sim) == []


@pytest.mark.contract_violations
async def test_maintenance_windows_filter_by_state_service_and_include() -> None:
    async with sim_client() as (client, sim):

        async def listed(query: str) -> list[dict[str, object]]:
            return await fetch_all(
                client, f"/maintenance_windows?{query}", "maintenance_windows"
            )

        ongoing = await listed("filter=ongoing")
        future = await listed("filter=future")
        past = await listed("filter=past")
        assert len(ongoing) == 1 and len(future) >= 1 and len(past) >= 1
        now = NOW.timestamp()
        (window,) = ongoing
        assert iso_to_ts(str(window["start_time"])) <= now
        assert now < iso_to_ts(str(window["end_time"]))
        open_ids = {w["id"] for w in await listed("filter=open")}
        assert open_ids == {w["id"] for w in ongoing + future}
        everything = await listed("filter=all")
        assert len(everything) == len(ongoing) + len(future) + len(past)
        assert {w["id"] for w in await listed("")} == {w["id"] for w in everything}

        covered = window["services"][0]["id"]  # type: ignore[index]
        by_service = await listed(f"service_ids[]={covered}")
        assert window["id"] in {w["id"] for w in by_service}
        assert all(
            covered in {s["id"] for s in w["services"]}  # type: ignore[attr-defined]
            for w in by_service
        )
        (expanded,) = await listed("filter=ongoing&include[]=services")
        assert expanded["services"][0]["type"] == "service"  # type: ignore[index]
        one = await client.get(f"/maintenance_windows/{window['id']}")
        assert one.json()["maintenance_window"]["id"] == window["id"]
        bad = await client.get("/maintenance_windows?filter=soon")
        assert bad.status_code == 400
        assert response_violations(sim) == []


async def test_the_control_api_creates_a_window_that_starts_and_ends_on_time() -> None:
    async with sim_client() as (client, sim):
        service_id = next(iter(sim.store.services))
        start, end = NOW + timedelta(minutes=1), NOW + timedelta(minutes=3)
        created = await client.post(
            "/_sim/maintenance_windows",
            json={
                "start_time": iso(start.timestamp()),
                "end_time": iso(end.timestamp()),
                "service_ids": [service_id],
                "description": "Test window",
            },
        )
        assert created.status_code == 201
        window = created.json()["maintenance_window"]
        future = await client.get(
            f"/maintenance_windows?filter=future&service_ids[]={service_id}"
        )
        assert window["id"] in {w["id"] for w in future.json()["maintenance_windows"]}

        sim.store.now_override = start + timedelta(seconds=1)
        ongoing = await client.get("/maintenance_windows?filter=ongoing")
        assert window["id"] in {w["id"] for w in ongoing.json()["maintenance_windows"]}
        sim.store.now_override = end
        past = await client.get("/maintenance_windows?filter=past")
        assert window["id"] in {w["id"] for w in past.json()["maintenance_windows"]}

        for body in (
            {"start_time": iso(end.timestamp()), "end_time": iso(start.timestamp())},
            {
                "start_time": iso(start.timestamp()),
                "end_time": iso(end.timestamp()),
                "service_ids": ["PNOSUCH"],
            },
        ):
            refused = await client.post("/_sim/maintenance_windows", json=body)
            assert refused.status_code == 400
        assert response_violations(sim) == []


async def test_change_events_filter_on_their_timestamp_newest_first() -> None:
    async with sim_client() as (client, sim):
        since = NOW - timedelta(days=7)
        query = f"since={iso(since.timestamp())}&until={iso(NOW.timestamp())}"
        events = await fetch_all(client, f"/change_events?{query}", "change_events")
        stamps = [iso_to_ts(e["timestamp"]) for e in events]
        assert stamps == sorted(stamps, reverse=True)
        expected = [
            e
            for e in sim.store.change_events
            if since.timestamp() <= iso_to_ts(e["timestamp"]) < NOW.timestamp()
        ]
        assert [e["id"] for e in events] == [e["id"] for e in expected]
        assert 0 < len(events) < len(sim.store.change_events)
        first = events[0]
        assert first["services"] and first["links"][0]["href"].startswith("https://")
        counted = await client.get(f"/change_events?{query}&total=true&limit=5")
        assert counted.json()["total"] == len(events)
        team = sim.store.services[first["services"][0]["id"]]["teams"][0]["id"]
        by_team = await fetch_all(
            client, f"/change_events?team_ids[]={team}", "change_events"
        )
        assert first["id"] in {e["id"] for e in by_team}
        assert response_violations(sim) == []


@pytest.mark.contract_violations
async def test_change_event_times_must_be_utc_to_the_second() -> None:
    """The schema's `YYYY-MM-DDThh:mm:ssZ` is read as the format it names
    (errata.py): a UTC time to the second passes, anything else is refused."""
    async with sim_client() as (client, sim):
        for value in ("2026-02-20", "2026-02-20T00:00:00+02:00", "yesterday"):
            answer = await client.get("/change_events", params={"since": value})
            assert answer.status_code == 400, value
        fine = await client.get(
            "/change_events", params={"since": "2026-02-20T00:00:00Z"}
        )
        assert fine.status_code == 200
        assert response_violations(sim) == []
