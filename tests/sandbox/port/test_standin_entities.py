"""The Port stand-in's entities: search, datasource listings, deletion, control API."""

from __future__ import annotations

import httpx
import pytest

from sandbox.port import PortState, datasource_for
from tests.sandbox.port.conftest import OCEAN_UA
from tests.sandbox.port.standin_helpers import (
    TYPED_SERVICE_BP,
    bulk_upsert,
    setup_blueprints,
)


async def test_search_shapes_ocean_sends(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    await bulk_upsert(
        client,
        "svc",
        [
            {"identifier": f"s{i}", "title": f"S{i}", "properties": {"score": i}}
            for i in range(4)
        ],
    )
    state.seed(
        {
            "entities": [{"blueprint": "svc", "identifier": "foreign"}],
            "datasource": "port-ocean/other/1.0/other-1/exporter",
        }
    )
    ds_rules = [
        {"property": "$datasource", "operator": "contains", "value": "port-ocean/toy/"},
        {"property": "$datasource", "operator": "contains", "value": "/toy-1/exporter"},
    ]
    # _construct_search_query_for_entities + default datasource rules
    query = {
        "combinator": "and",
        "rules": [
            {
                "property": "$identifier",
                "operator": "in",
                "value": ["s1", "s2", "foreign"],
            },
            {"property": "$blueprint", "operator": "=", "value": "svc"},
            *ds_rules,
        ],
    }
    found = await client.post(
        "/v1/entities/search",
        params=[
            ("exclude_calculated_properties", "true"),
            ("include", "blueprint"),
            ("include", "identifier"),
            ("include", "properties.score"),
        ],
        json=query,
    )
    assert sorted(found.json()["entities"], key=lambda e: e["identifier"]) == [
        {"blueprint": "svc", "identifier": "s1", "properties": {"score": 1}},
        {"blueprint": "svc", "identifier": "s2", "properties": {"score": 2}},
    ]
    # search_batch_entities: and[or[and[id, bp]...]] + datasource rules
    batch = {
        "combinator": "and",
        "rules": [
            {
                "combinator": "or",
                "rules": [
                    {
                        "combinator": "and",
                        "rules": [
                            {
                                "property": "$identifier",
                                "operator": "=",
                                "value": ident,
                            },
                            {"property": "$blueprint", "operator": "=", "value": "svc"},
                        ],
                    }
                    for ident in ("s0", "s3", "missing")
                ],
            },
            *ds_rules,
        ],
    }
    found = await client.post("/v1/entities/search", json=batch)
    assert {e["identifier"] for e in found.json()["entities"]} == {"s0", "s3"}


async def test_datasource_entities_pagination_and_before(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    await bulk_upsert(client, "svc", [{"identifier": f"s{i}"} for i in range(5)])
    state.seed(
        {
            "entities": [{"blueprint": "svc", "identifier": "foreign"}],
            "datasource": datasource_for("other", "other-1"),
        }
    )
    body = {
        "datasource_prefix": "port-ocean/toy/",
        "datasource_suffix": "/toy-1/exporter",
        "limit": 2,
    }
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = (
            await client.post(
                "/v1/blueprints/entities/datasource-entities",
                json={**body, **({"from": cursor} if cursor else {})},
            )
        ).json()
        seen.extend(e["identifier"] for e in page["entities"])
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == [f"s{i}" for i in range(5)]
    before = "2000-01-01T00:00:00+00:00"
    old = await client.post(
        "/v1/blueprints/entities/datasource-entities", json={**body, "before": before}
    )
    assert old.json()["entities"] == []


async def test_delete_single_bulk_and_dependents(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await setup_blueprints(client)
    await bulk_upsert(client, "svc", [{"identifier": f"s{i}"} for i in range(4)])
    await bulk_upsert(
        client, "inc", [{"identifier": "i1", "relations": {"service": "s0"}}]
    )
    single = await client.delete(
        "/v1/blueprints/svc/entities/s3?delete_dependents=false"
    )
    assert single.status_code == 200
    assert (
        await client.delete("/v1/blueprints/svc/entities/s3?delete_dependents=false")
    ).status_code == 404
    # without delete_dependents a non-required relation is cleared
    await client.post(
        "/v1/blueprints/svc/bulk/entities/delete?delete_dependents=false",
        json={"entities": ["s2"]},
    )
    bulk = await client.post(
        "/v1/blueprints/svc/bulk/entities/delete?delete_dependents=true",
        json={"entities": ["s0", "missing"]},
    )
    assert bulk.json()["deletedEntities"] == ["s0"]
    assert set(state.entities["svc"]) == {"s1"}
    assert state.entities["inc"] == {}  # i1 depended on s0
    deleted = (await client.get("/_standin/deleted")).json()["deleted"]
    assert [(d["blueprint"], d["identifier"]) for d in deleted] == [
        ("svc", "s3"),
        ("svc", "s2"),
        ("svc", "s0"),
        ("inc", "i1"),
    ]


async def test_unknown_endpoints_and_request_counts(
    client: httpx.AsyncClient, state: PortState, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post("/v1/something/new", json={})
    assert response.status_code == 404
    assert response.json()["ok"] is False
    assert "UNKNOWN ENDPOINT POST /v1/something/new" in caplog.text
    await client.get("/v1/integration/a")
    await client.get("/v1/integration/b")
    report = (await client.get("/_standin/requests")).json()
    assert report["counts"]["GET /v1/integration/{identifier}"] == 2
    assert report["unknown"][0]["path"] == "/v1/something/new"
    assert report["unknownCount"] == 1


async def test_seed_reset_and_faults(
    client: httpx.AsyncClient, state: PortState
) -> None:
    seeded = await client.post(
        "/_standin/seed",
        json={
            "blueprints": [TYPED_SERVICE_BP],
            "entities": [
                {"blueprint": "svc", "identifier": "old", "datasource": OCEAN_UA}
            ],
            "integrations": {"pd": {"installationAppType": "pagerduty"}},
        },
    )
    assert seeded.json()["seeded"] == {
        "blueprints": 1,
        "entities": 1,
        "integrations": 1,
    }
    assert (await client.get("/_standin/entities/svc")).json()["old"][
        "identifier"
    ] == "old"
    assert (await client.get("/v1/integration/pd")).status_code == 200

    await client.post(
        "/_standin/faults",
        json={"method": "GET", "path": "/v1/integration/{identifier}", "status": 503},
    )
    assert (await client.get("/v1/integration/pd")).status_code == 503
    assert (await client.get("/v1/integration/pd")).status_code == 200

    await client.post("/_standin/reset")
    catalog = (await client.get("/_standin/catalog")).json()
    assert catalog["entities"] == {} and catalog["integrations"] == {}
    assert set(catalog["blueprints"]) == {"_user", "_team"}
    # tokens survive a reset
    assert (await client.get("/v1/organization")).status_code == 200


# ------------------------------------------------------- real Ocean runs
