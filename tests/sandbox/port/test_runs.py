"""The action-runs API of the Port stand-in, driven over HTTP the way Ocean does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from port_ocean.core.models import ActionRun

from tests.sandbox.port.conftest import GREET_ACTION, RESERVED

pytestmark = pytest.mark.usefixtures("catalog")

CLAIM = "/v1/actions/runs/claim-pending"


async def _enqueue(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post("/_standin/runs", json=body)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


async def _claim(
    client: httpx.AsyncClient, installation: str = "toy-1", **extra: Any
) -> list[dict[str, Any]]:
    body = {
        "installationId": installation,
        "limit": 10,
        "visibilityTimeoutMs": 60_000,
        **extra,
    }
    response = await client.post(CLAIM, json=body, headers=RESERVED)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


async def test_enqueue_claim_ack_log_patch_success(client: httpx.AsyncClient) -> None:
    run_id = await _enqueue(
        client,
        action="svc_greet",
        properties={"name": "Ada"},
        inputs={"name": "Ada"},
        entity="a",
        userEmail="ada@example.com",
    )
    assert run_id.startswith("r_")

    # claim and ack are reserved for integrations
    refused = await client.post(
        CLAIM, json={"installationId": "toy-1", "limit": 1, "visibilityTimeoutMs": 1}
    )
    assert refused.status_code == 403

    claimed = await _claim(client)
    assert [r["id"] for r in claimed] == [run_id]
    run = ActionRun.parse_obj(claimed[0])  # exactly how Ocean reads it
    assert run.action_type == "greet"
    assert run.action_identifier == "svc_greet"
    assert run.execution_properties == {"name": "Ada"}
    assert run.is_in_progress
    assert claimed[0]["entity"]["identifier"] == "a"
    assert claimed[0]["entity"]["title"] == "Service A"
    assert claimed[0]["blueprint"]["identifier"] == "svc"
    assert claimed[0]["properties"] == {"name": "Ada"}
    assert claimed[0]["createdBy"] == "ada@example.com"
    # claimed and not acknowledged: invisible to the next claim
    assert await _claim(client) == []

    ack = await client.patch(
        "/v1/actions/runs/ack", json={"runId": run_id}, headers=RESERVED
    )
    assert ack.status_code == 200, ack.text
    again = await client.patch(
        "/v1/actions/runs/ack", json={"runId": run_id}, headers=RESERVED
    )
    assert again.status_code == 409

    log = await client.post(
        f"/v1/actions/runs/{run_id}/logs",
        json={"message": "greeting Ada", "statusLabel": "Greeting"},
    )
    assert log.status_code == 201, log.text
    started = await client.patch(
        f"/v1/actions/runs/{run_id}",
        json={"link": "https://example.com/job/1", "externalRunId": "job-1"},
    )
    assert started.status_code == 200, started.text
    assert started.json()["run"]["link"] == ["https://example.com/job/1"]

    found = await client.get("/v1/actions/runs?version=v2&external_run_id=job-1")
    assert [r["id"] for r in found.json()["runs"]] == [run_id]
    assert found.json()["runs"][0]["action"]["identifier"] == "svc_greet"
    none = await client.get("/v1/actions/runs?version=v2&external_run_id=job-2")
    assert none.json()["runs"] == []

    done = await client.patch(
        f"/v1/actions/runs/{run_id}",
        json={"status": "SUCCESS", "summary": "greeted Ada", "statusLabel": "Greeted"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["run"]["endedAt"] is not None
    # a finished run cannot change its outcome
    twice = await client.patch(f"/v1/actions/runs/{run_id}", json={"status": "FAILURE"})
    assert twice.status_code == 422
    assert await _claim(client) == []

    view = (await client.get(f"/_standin/runs/{run_id}")).json()
    assert view["status"] == "SUCCESS"
    assert view["summary"] == "greeted Ada"
    assert view["statusLabel"] == "Greeted"
    assert view["link"] == ["https://example.com/job/1"]
    assert [log["message"] for log in view["logs"]] == ["greeting Ada"]
    assert [s["status"] for s in view["statusHistory"]] == ["IN_PROGRESS", "SUCCESS"]
    assert all(s["at"] for s in view["statusHistory"])
    assert len(view["claims"]) == 1 and view["acknowledgedAt"] is not None
    assert view["run"]["externalRunId"] == "job-1"
    listing = (await client.get("/_standin/runs")).json()
    assert [r["run"]["id"] for r in listing["runs"]] == [run_id]

    port_view = (await client.get(f"/v1/actions/runs/{run_id}")).json()["run"]
    assert port_view["status"] == "SUCCESS"
    v1 = (await client.get(f"/v1/actions/runs/{run_id}?version=v1")).json()["run"]
    assert v1["action"] == "svc_greet"
    logs = (await client.get(f"/v1/actions/runs/{run_id}/logs")).json()["runLogs"]
    assert [log["message"] for log in logs] == ["greeting Ada"]


async def test_failure_by_patch_and_by_log_termination(
    client: httpx.AsyncClient,
) -> None:
    patched = await _enqueue(client, action="svc_greet", properties={"name": "x"})
    logged = await _enqueue(client, action="svc_greet", properties={"name": "y"})
    assert {r["id"] for r in await _claim(client)} == {patched, logged}

    # Ocean's report_run_completed(success=False): a log, then the status patch
    await client.post(f"/v1/actions/runs/{patched}/logs", json={"message": "boom"})
    response = await client.patch(
        f"/v1/actions/runs/{patched}",
        json={"status": "FAILURE", "statusLabel": "Execution failed"},
    )
    assert response.status_code == 200, response.text
    # Port also ends a run from a log's terminationStatus
    response = await client.post(
        f"/v1/actions/runs/{logged}/logs",
        json={"message": "bad input", "terminationStatus": "FAILURE"},
    )
    assert response.status_code == 201, response.text

    for run_id, message in ((patched, "boom"), (logged, "bad input")):
        view = (await client.get(f"/_standin/runs/{run_id}")).json()
        assert view["status"] == "FAILURE"
        assert [log["message"] for log in view["logs"]] == [message]
        assert view["run"]["endedAt"] is not None
    assert (await client.get(f"/_standin/runs/{patched}")).json()[
        "statusLabel"
    ] == "Execution failed"
    active = await client.get("/v1/actions/runs?active=true")
    assert active.json()["runs"] == []


async def test_claim_limit_exclude_installation_and_visibility_timeout(
    client: httpx.AsyncClient,
) -> None:
    first = await _enqueue(client, action="svc_greet", properties={})
    second = await _enqueue(client, action="svc_greet", properties={})
    other = await _enqueue(client, action="other_action", installationId="toy-1")
    elsewhere = await _enqueue(client, action="svc_greet", installationId="toy-2")

    # oldest first, at most `limit`
    assert [r["id"] for r in await _claim(client, limit=1)] == [first]
    # Ocean excludes saturated action identifiers
    assert [r["id"] for r in await _claim(client, exclude=["svc_greet"])] == [other]
    assert [r["id"] for r in await _claim(client, "toy-2")] == [elsewhere]
    assert [r["id"] for r in await _claim(client, visibilityTimeoutMs=1)] == [second]
    await asyncio.sleep(0.01)
    # an unacknowledged claim becomes claimable again after its timeout
    assert [r["id"] for r in await _claim(client)] == [second]
    view = (await client.get(f"/_standin/runs/{second}")).json()
    assert [c["visibilityTimeoutMs"] for c in view["claims"]] == [1, 60_000]
    # without a definition the action type defaults to the identifier
    other_run = ActionRun.parse_obj(
        (await client.get(f"/v1/actions/runs/{other}")).json()["run"]
    )
    assert other_run.action_type == "other_action"

    bad = await client.post(
        CLAIM, json={"installationId": "toy-1", "limit": 0}, headers=RESERVED
    )
    assert bad.status_code == 422


async def test_request_validation(client: httpx.AsyncClient) -> None:
    run_id = await _enqueue(client, action="svc_greet", properties={})
    for body in (
        {"status": "DONE"},
        {"status": "IN_PROGRESS"},
        {"summary": 3},
        {"link": [1]},
        {"unknownField": True},
    ):
        response = await client.patch(f"/v1/actions/runs/{run_id}", json=body)
        assert response.status_code == 422, body
    assert (
        await client.post(f"/v1/actions/runs/{run_id}/logs", json={"text": "x"})
    ).status_code == 422
    assert (
        await client.patch("/v1/actions/runs/r_missing", json={"summary": "x"})
    ).status_code == 404
    assert (
        await client.patch(
            "/v1/actions/runs/ack", json={"runId": "r_missing"}, headers=RESERVED
        )
    ).status_code == 404
    # Ocean's identity-propagation pause and label-only patches are accepted
    response = await client.patch(
        f"/v1/actions/runs/{run_id}",
        json={"reauthRequired": True, "statusLabel": "Waiting"},
    )
    assert response.status_code == 200
    assert response.json()["run"]["reauthRequired"] is True

    # triggering: the entity must exist, the action must be an integration action
    assert (
        await client.post(
            "/_standin/runs", json={"action": "svc_greet", "entity": "zz"}
        )
    ).status_code == 404
    webhook_action = {
        **GREET_ACTION,
        "identifier": "svc_webhook",
        "invocationMethod": {"type": "WEBHOOK", "url": "https://example.com"},
    }
    assert (await client.post("/v1/actions", json=webhook_action)).status_code == 201
    assert (
        await client.post("/_standin/runs", json={"action": "svc_webhook"})
    ).status_code == 422
    assert (await client.post("/_standin/runs", json={})).status_code == 422


async def test_action_definitions(client: httpx.AsyncClient) -> None:
    taken = await client.post("/v1/actions", json=GREET_ACTION)
    assert taken.status_code == 409
    incomplete = {**GREET_ACTION, "identifier": "x", "invocationMethod": {}}
    assert (await client.post("/v1/actions", json=incomplete)).status_code == 422
    no_type = {
        **GREET_ACTION,
        "identifier": "y",
        "invocationMethod": {"type": "INTEGRATION_ACTION", "installationId": "toy-1"},
    }
    assert (await client.post("/v1/actions", json=no_type)).status_code == 422

    listed = (await client.get("/v1/actions?blueprint_identifier=svc")).json()
    assert [a["identifier"] for a in listed["actions"]] == ["svc_greet"]
    action = (await client.get("/v1/actions/svc_greet")).json()["action"]
    assert action["invocationMethod"]["integrationActionType"] == "greet"
    assert action["createdBy"].startswith("port-ocean/")
    renamed = {**GREET_ACTION, "title": "Say hello"}
    replaced = await client.put("/v1/actions/svc_greet", json=renamed)
    assert replaced.json()["action"]["title"] == "Say hello"
    catalog = (await client.get("/_standin/catalog")).json()
    assert catalog["actions"]["svc_greet"]["title"] == "Say hello"

    # the run takes installation, type and (unrendered) properties from the definition
    run_id = await _enqueue(client, action="svc_greet")
    run = (await client.get(f"/v1/actions/runs/{run_id}")).json()["run"]
    assert run["payload"] == GREET_ACTION["invocationMethod"]
    assert run["action"]["title"] == "Say hello"

    assert (await client.delete("/v1/actions/svc_greet")).status_code == 200
    assert (await client.get("/v1/actions/svc_greet")).status_code == 404


async def test_workflow_node_runs_answer_none(client: httpx.AsyncClient) -> None:
    body = {"installationId": "toy-1", "limit": 5, "visibilityTimeoutMs": 1000}
    claim = await client.post(
        "/v1/workflows/runs/claim-pending", json=body, headers=RESERVED
    )
    assert claim.status_code == 200 and claim.json()["nodeRuns"] == []
    find = await client.get(
        "/v1/workflows/nodes/runs",
        params={"external_run_id": "x", "include": "nodeConfig"},
        headers=RESERVED,
    )
    assert find.json()["nodeRuns"] == []
    ack = await client.patch(
        "/v1/workflows/runs/ack", json={"nodeRunIdentifier": "n1"}, headers=RESERVED
    )
    assert ack.status_code == 404
    assert (await client.get("/_standin/runs")).json()["workflowClaims"] == 1


async def test_reset_forgets_runs_and_actions(client: httpx.AsyncClient) -> None:
    await _enqueue(client, action="svc_greet", properties={})
    await client.post("/_standin/reset")
    assert (await client.get("/_standin/runs")).json()["runs"] == []
    assert (await client.get("/_standin/catalog")).json()["actions"] == {}
    assert (await client.get("/v1/actions/runs")).json()["runs"] == []
