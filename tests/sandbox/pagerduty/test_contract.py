"""The contract: requests refused and recorded, responses checked, violations listed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox.pagerduty.contract import Contract
from sandbox.pagerduty.state import shared_contract
from tests.sandbox.pagerduty.helpers import BASE, response_violations, sim_client

HEADERS = {"Accept": "application/vnd.pagerduty+json;version=2"}


@pytest.mark.contract_violations
async def test_array_parameter_without_brackets_is_refused_and_named() -> None:
    async with sim_client() as (client, sim):
        answer = await client.get("/incidents?statuses=triggered")
        assert answer.status_code == 400
        assert answer.json() == {
            "error": {
                "message": "Invalid Input Provided",
                "code": 2001,
                "errors": ["unknown query parameter statuses (use statuses[])"],
            }
        }
        listed = (await client.get("/_sim/contract/violations")).json()
        assert listed["count"] == 1
        violation = listed["violations"][0]
        assert violation["operation_id"] == "listIncidents"
        assert (violation["method"], violation["path"]) == ("GET", "/incidents")
        assert violation["field"] == "statuses"
        assert "listIncidents" in violation["description"]
        good = await client.get("/incidents?statuses[]=triggered")
        assert good.status_code == 200
        assert (await client.get("/_sim/counters")).json()["contract_violations"] == 1


@pytest.mark.contract_violations
async def test_query_values_are_checked_against_their_schemas() -> None:
    async with sim_client() as (client, sim):
        cases = {
            "/incidents?statuses[]=exploded": "statuses[]",
            "/incidents?limit=ten": "limit",
            "/incidents?total=yes": "total",
            "/incidents?date_range=some": "date_range",
            "/services?sort_by=created_at": "sort_by",
            "/oncalls?since=yesterday": "since",
            "/oncalls?include[]=users&include[]=users": "include[]",
            "/schedules/{id}/overrides".replace(
                "{id}", next(iter(sim.store.schedules))
            ): "since",
            "/services?limit=1&limit=2": "limit",
        }
        for path, field in cases.items():
            answer = await client.get(path)
            assert answer.status_code == 400, path
            fields = {v.field for v in sim.violations.items[-2:]}
            assert field in fields, path


@pytest.mark.contract_violations
async def test_required_from_header_on_incident_writes() -> None:
    async with sim_client() as (client, sim):
        incident_id = next(
            i
            for i in reversed(sim.store.incident_order)
            if sim.store.incidents[i]["status"] == "triggered"
        )
        body = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
        missing = await client.put(f"/incidents/{incident_id}", json=body)
        assert missing.status_code == 400
        assert sim.violations.items[-1].field == "From"
        assert sim.violations.items[-1].operation_id == "updateIncident"
        user_email = next(iter(sim.store.users_by_email))
        written = await client.put(
            f"/incidents/{incident_id}", json=body, headers={"From": user_email}
        )
        assert written.status_code == 200, written.text
        assert written.json()["incident"]["status"] == "acknowledged"
        stranger = await client.put(
            f"/incidents/{incident_id}", json=body, headers={"From": "x@nowhere.test"}
        )
        assert stranger.status_code == 400
        oauth = await client.put(
            f"/incidents/{incident_id}",
            json=body,
            headers={"Authorization": f"Bearer {BASE.token}"},
        )
        assert oauth.status_code == 200  # an OAuth token's user is the actor
        assert len(sim.violations.items) == 1


@pytest.mark.contract_violations
async def test_bodies_are_strict() -> None:
    async with sim_client() as (client, sim):
        service = next(iter(sim.store.services.values()))
        email = next(iter(sim.store.users_by_email))
        incident = {
            "type": "incident",
            "title": "Disk on fire",
            "service": {"id": service["id"], "type": "service_reference"},
        }
        created = await client.post(
            "/incidents", json={"incident": incident}, headers={"From": email}
        )
        assert created.status_code == 201, created.text
        extra = {"incident": {**incident, "colour": "red"}}
        refused = await client.post("/incidents", json=extra, headers={"From": email})
        assert refused.status_code == 400
        assert sim.violations.items[-1].field == "incident.colour"
        no_title = {"incident": {k: v for k, v in incident.items() if k != "title"}}
        refused = await client.post(
            "/incidents", json=no_title, headers={"From": email}
        )
        assert refused.status_code == 400
        assert sim.violations.items[-1].field == "incident.title"
        sid = "PNOPE"
        unexpected = await client.post(f"/webhook_subscriptions/{sid}/enable", json={})
        assert unexpected.status_code == 400  # enable takes no body
        assert sim.violations.items[-1].field == "(body)"
        not_json = await client.post(
            "/incidents",
            content=b"{not json",
            headers={"From": email, "Content-Type": "application/json"},
        )
        assert not_json.status_code == 400
        assert response_violations(sim) == []


@pytest.mark.contract_violations
async def test_unknown_operations_are_404_and_recorded() -> None:
    async with sim_client() as (client, sim):
        assert (await client.get("/nope")).status_code == 404
        assert sim.violations.items[-1].field == "path"
        assert (await client.patch("/services")).status_code == 404
        assert sim.violations.items[-1].field == "method"
        unserved = await client.delete(f"/schedules/{next(iter(sim.store.schedules))}")
        assert unserved.status_code == 404  # in the contract, not simulated
        assert len(sim.violations.items) == 2


async def test_every_simulated_answer_keeps_the_contract() -> None:
    """The simulator's own answers, with every include[] they support."""
    config = replace(BASE, shift_minutes=60)
    async with sim_client(config) as (client, sim):
        store = sim.store
        paths = [
            "/services?limit=100&include[]=teams&include[]=escalation_policies",
            "/services/" + next(iter(store.services)),
            "/services/" + next(iter(store.services)) + "/custom_fields/values",
            "/incidents?date_range=all&limit=100&include[]=services&include[]=assignees"
            "&include[]=teams&include[]=escalation_policies"
            "&include[]=first_trigger_log_entries&include[]=priorities",
            "/incidents?time_zone=Asia/Tokyo",
            "/incidents/" + store.incident_order[-1],
            "/incidents/" + store.incident_order[-1] + "/custom_fields/values",
            "/log_entries?limit=100",
            "/users?include[]=teams",
            "/users/" + next(iter(store.users)),
            "/teams",
            "/teams/" + next(iter(store.teams)),
            "/teams/" + next(iter(store.teams)) + "/members?include[]=users",
            "/schedules",
            "/schedules/" + next(iter(store.schedules)),
            "/escalation_policies?include[]=services&include[]=teams&include[]=targets",
            "/escalation_policies/" + next(iter(store.policies)),
            "/oncalls?limit=100&include[]=users&include[]=schedules"
            "&include[]=escalation_policies&since=2026-03-01T00:00:00Z"
            "&until=2026-03-03T00:00:00Z",
            "/priorities",
            "/business_services",
            "/analytics/raw/incidents/" + store.incident_order[-1],
            "/webhook_subscriptions",
        ]
        for path in paths:
            answer = await client.get(path, headers=HEADERS)
            assert answer.status_code == 200, (path, answer.text[:300])
        metrics = await client.post(
            "/analytics/metrics/incidents/services",
            json={"filters": {"created_at_start": "2025-09-01T00:00:00Z"}},
        )
        assert metrics.status_code == 200
        assert sim.violations.items == [], [v.describe() for v in sim.violations.items]


def test_a_response_out_of_contract_is_named() -> None:
    contract: Contract = shared_contract()
    op = contract.by_id["getIncident"]
    body = {"incident": {"id": "P1", "type": "incident", "status": "exploded"}}
    problems = contract.check_response(op, 200, body, b"{}")
    assert [p.field for p in problems] == ["incident.status"]
    assert contract.check_response(op, 201, body, b"{}")[0].field == "status"
    error = {"error": {"message": "Not Found", "code": 2100}}
    assert contract.check_response(op, 404, error, b"{}") == []


async def test_response_validation_can_be_switched_off() -> None:
    async with sim_client(replace(BASE, validate_responses=False)) as (client, sim):
        assert (await client.get("/services")).status_code == 200
        assert (await client.get("/_sim/config")).json()["validate_responses"] is False


@pytest.mark.contract_violations
async def test_headers_an_operation_requires_must_be_sent() -> None:
    """The schema lists Accept and Content-Type as required; PagerDuty's behaviour
    without them is undocumented, so the stricter reading holds."""
    async with sim_client(headers={}) as (client, sim):
        auth = {"Authorization": f"Token token={BASE.token}"}
        bare = await client.get("/services", headers=auth)
        assert bare.status_code == 400
        assert bare.json()["error"]["code"] == 2001
        # (httpx always sends Accept: */*, which the schema's plain string admits.)
        assert {v.field for v in sim.violations.items} == {"Content-Type"}
        wrong = await client.get(
            "/services",
            headers={**auth, "Content-Type": "text/plain"},
        )
        assert wrong.status_code == 400
        full = await client.get(
            "/services",
            headers={
                **auth,
                "Accept": "application/vnd.pagerduty+json;version=2",
                "Content-Type": "application/json",
            },
        )
        assert full.status_code == 200
