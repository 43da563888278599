"""The Port stand-in's API as Ocean uses it: auth, integrations, blueprints, bulk upserts."""

from __future__ import annotations

import asyncio

import httpx

from sandbox.port import PortState, create_app
from tests.sandbox.port.conftest import OCEAN_UA
from tests.sandbox.port.standin_helpers import (
    INCIDENT_BP,
    TYPED_SERVICE_BP,
    bulk_upsert,
    setup_blueprints,
)


# ----------------------------------------------------------------- auth
async def test_auth_accepts_any_pair_but_the_bad_one(state: PortState) -> None:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as raw:
        bad = await raw.post(
            "/v1/auth/access_token",
            json={"clientId": "bad-client-id", "clientSecret": "bad-client-secret"},
        )
        assert bad.status_code == 401
        assert (await raw.get("/v1/organization")).status_code == 401
        good = await raw.post(
            "/v1/auth/access_token", json={"clientId": "x", "clientSecret": "y"}
        )
        body = good.json()
        assert set(body) >= {"accessToken", "expiresIn", "tokenType"}
        headers = {"Authorization": f"Bearer {body['accessToken']}"}
        org = await raw.get("/v1/organization", headers=headers)
        assert org.status_code == 200
        assert org.json()["organization"]["featureFlags"] == []
        # the token is an (unsigned) JWT Ocean can decode
        assert body["accessToken"].count(".") == 2
        assert state.unauthorized_requests == 1


# ---------------------------------------------------------- integrations
async def test_integration_lifecycle(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/integration/pd")).status_code == 404
    created = await client.post(
        "/v1/integration",
        json={
            "installationId": "pd",
            "installationAppType": "pagerduty",
            "version": "0.1.0",
            "config": {"resources": [{"kind": "services"}]},
        },
    )
    assert created.status_code == 201
    integration = created.json()["integration"]
    assert integration["logAttributes"]["ingestUrl"].endswith("/v1/integration/pd/logs")
    patched = await client.patch(
        "/v1/integration/pd/config", json={"config": {"resources": []}}
    )
    assert patched.json()["integration"]["config"] == {"resources": []}
    state_response = await client.patch(
        "/v1/integration/pd/resync-state", json={"status": "running"}
    )
    assert state_response.json()["integration"]["resyncState"]["status"] == "running"
    assert "updatedAt" in state_response.json()["integration"]["resyncState"]
    await client.patch("/v1/integration/pd/resync-state", json={"status": "completed"})
    control = (await client.get("/_standin/integration/pd")).json()
    assert control["resyncState"]["status"] == "completed"
    assert [s["status"] for s in control["resyncStateHistory"]] == [
        "running",
        "completed",
    ]
    # ingest endpoints handed out through the integration answer
    logs = await client.post("/v1/integration/pd/logs", json={"logs": [{"m": 1}]})
    assert logs.status_code == 200


# ------------------------------------------------------------ blueprints
async def test_blueprints_crud_and_relation_targets(client: httpx.AsyncClient) -> None:
    missing_target = await client.post(
        "/v1/blueprints",
        json={**INCIDENT_BP, "identifier": "inc2"},
    )
    assert missing_target.status_code == 404
    await setup_blueprints(client)
    assert (
        await client.post("/v1/blueprints", json=TYPED_SERVICE_BP)
    ).status_code == 409
    got = (await client.get("/v1/blueprints/inc")).json()["blueprint"]
    assert got["relations"]["service"] == {
        "target": "svc",
        "many": False,
        "required": False,
        "title": "service",
    }
    await client.patch("/v1/blueprints/svc", json={"title": "Svc!"})
    assert (await client.get("/v1/blueprints/svc")).json()["blueprint"][
        "title"
    ] == "Svc!"
    assert (await client.get("/v1/blueprints/nope")).status_code == 404


# -------------------------------------------------------------- entities
async def test_bulk_upsert_merge_and_datasource(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    first = await bulk_upsert(
        client,
        "svc",
        [
            {
                "identifier": "a",
                "title": "A",
                "properties": {"status": "active", "score": 1},
            },
            {"identifier": "b", "title": "B", "properties": {"status": "disabled"}},
        ],
    )
    assert first.status_code == 200
    assert first.json()["entities"] == [
        {"identifier": "a", "index": 0, "created": True},
        {"identifier": "b", "index": 1, "created": True},
    ]
    # merge=true keeps properties not sent
    await bulk_upsert(client, "svc", [{"identifier": "a", "properties": {"score": 2}}])
    a = state.entities["svc"]["a"]
    assert a["properties"] == {"status": "active", "score": 2}
    assert a["title"] == "A"
    # merge=false replaces the entity
    await bulk_upsert(
        client, "svc", [{"identifier": "a", "properties": {"score": 3}}], merge=False
    )
    assert state.entities["svc"]["a"]["properties"] == {"score": 3}
    assert state.datasources[("svc", "a")] == OCEAN_UA
    catalog = (await client.get("/_standin/catalog")).json()
    assert set(catalog["entities"]["svc"]) == {"a", "b"}
    assert catalog["datasources"]["svc"]["b"] == OCEAN_UA


async def test_unchanged_upsert_keeps_updated_at(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    entity = {"identifier": "a", "title": "A", "properties": {"score": 1}}
    await bulk_upsert(client, "svc", [entity])
    stamp = state.entities["svc"]["a"]["updatedAt"]
    await asyncio.sleep(0.005)
    await bulk_upsert(client, "svc", [entity])
    assert state.entities["svc"]["a"]["updatedAt"] == stamp
    await bulk_upsert(client, "svc", [{**entity, "properties": {"score": 2}}])
    assert state.entities["svc"]["a"]["updatedAt"] != stamp


async def test_missing_related_entities(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    refused = await bulk_upsert(
        client,
        "inc",
        [{"identifier": "i1", "relations": {"service": "ghost"}}],
        cmr=False,
    )
    assert refused.status_code == 207
    error = refused.json()["errors"][0]
    assert error["index"] == 0 and error["statusCode"] == 404
    assert error["error"] == "not_found"
    assert "i1" not in state.entities["inc"]

    single = await client.post(
        "/v1/blueprints/inc/entities?upsert=true&merge=true&create_missing_related_entities=false",
        json={"identifier": "i1", "relations": {"service": "ghost"}},
    )
    assert single.status_code == 404
    assert single.json()["error"] == "not_found"

    created = await bulk_upsert(
        client, "inc", [{"identifier": "i1", "relations": {"service": "ghost"}}]
    )
    assert created.status_code == 200
    stub = state.entities["svc"]["ghost"]
    assert stub["identifier"] == "ghost" and stub["properties"] == {}
    assert state.datasources[("svc", "ghost")] == OCEAN_UA


async def test_mismatches_are_recorded_not_rejected(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    await bulk_upsert(client, "svc", [{"identifier": "s1"}])
    response = await bulk_upsert(
        client,
        "svc",
        [
            {
                "identifier": "a",
                "properties": {
                    "status": "ACTIVE",
                    "url": "not a url",
                    "createdAt": "yesterday",
                    "score": "7",
                    "enabled": "true",
                    "tags": ["x", 1],
                    "meta": [],
                    "surprise": 1,
                    "oncall": None,
                },
            }
        ],
    )
    assert response.status_code == 200
    assert "a" in state.entities["svc"]
    await bulk_upsert(
        client,
        "inc",
        [
            {"identifier": "i1", "relations": {"service": ["s1"], "services": "s1"}},
            {"identifier": "i2", "relations": {"nope": "s1"}},
        ],
    )
    report = (await client.get("/_standin/mismatches")).json()
    kinds = {(m["identifier"], m["field"]): m["kind"] for m in report["mismatches"]}
    assert kinds == {
        ("a", "properties.status"): "enum_mismatch",
        ("a", "properties.url"): "bad_format",
        ("a", "properties.createdAt"): "bad_format",
        ("a", "properties.score"): "wrong_type",
        ("a", "properties.enabled"): "wrong_type",
        ("a", "properties.tags"): "wrong_type",
        ("a", "properties.meta"): "wrong_type",
        ("a", "properties.surprise"): "unknown_property",
        ("i1", "relations.service"): "relation_many_mismatch",
        ("i1", "relations.services"): "relation_many_mismatch",
        ("i2", "relations.nope"): "unknown_relation",
    }
    assert not any(m["rejected"] for m in report["mismatches"])
    # repeated upserts count, not duplicate
    await bulk_upsert(
        client, "inc", [{"identifier": "i2", "relations": {"nope": "s1"}}]
    )
    report = (await client.get("/_standin/mismatches")).json()
    assert len(report["mismatches"]) == 11
    nope = [m for m in report["mismatches"] if m["field"] == "relations.nope"][0]
    assert nope["count"] == 2


async def test_strict_mode_rejects_like_port(state: PortState) -> None:
    state.strict = True
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as raw:
        token = (
            await raw.post(
                "/v1/auth/access_token", json={"clientId": "a", "clientSecret": "b"}
            )
        ).json()["accessToken"]
        raw.headers["Authorization"] = f"Bearer {token}"
        await setup_blueprints(raw)
        bulk = await bulk_upsert(
            raw,
            "svc",
            [
                {"identifier": "good", "properties": {"score": 1}},
                {"identifier": "bad", "properties": {"score": "1"}},
            ],
        )
        assert bulk.status_code == 207
        assert [e["identifier"] for e in bulk.json()["entities"]] == ["good"]
        assert bulk.json()["errors"][0]["statusCode"] == 422
        single = await raw.post(
            "/v1/blueprints/svc/entities?upsert=true&merge=true",
            json={"identifier": "bad", "properties": {"nope": 1}},
        )
        assert single.status_code == 422
        assert single.json()["details"][0]["kind"] == "unknown_property"
    assert set(state.entities["svc"]) == {"good"}
    assert all(m["rejected"] for m in state.mismatch_report()["mismatches"])
