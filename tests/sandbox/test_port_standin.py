"""Tests of the Port stand-in: API semantics in-process, then real Ocean against it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.port import PortState, create_app, datasource_for

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
OCEAN_UA = "port-ocean/toy/0.1.0/toy-1/exporter"

SERVICE_BP: dict[str, Any] = {
    "identifier": "svc",
    "title": "Service",
    "schema": {
        "properties": {
            "status": {"type": "string", "enum": ["active", "disabled"]},
            "url": {"type": "string", "format": "url"},
            "createdAt": {"type": "string", "format": "date-time"},
            "score": {"type": "number"},
            "oncall": {"type": "string", "format": "user"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "enabled": {"type": "boolean"},
            "meta": {"type": "object"},
        },
        "required": [],
    },
    "relations": {},
}
INCIDENT_BP: dict[str, Any] = {
    "identifier": "inc",
    "title": "Incident",
    "schema": {"properties": {"status": {"type": "string"}}, "required": []},
    "relations": {
        "service": {"target": "svc", "many": False, "required": False},
        "services": {"target": "svc", "many": True, "required": False},
    },
}
BULK = "/v1/blueprints/{bp}/entities/bulk?upsert=true&merge={merge}&create_missing_related_entities={cmr}&validation_only=false"


@pytest.fixture
def state() -> PortState:
    return PortState()


@pytest.fixture
async def client(state: PortState) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://standin") as raw:
        token = (
            await raw.post(
                "/v1/auth/access_token",
                json={"clientId": "cid", "clientSecret": "secret"},
            )
        ).json()
        raw.headers["Authorization"] = f"{token['tokenType']} {token['accessToken']}"
        raw.headers["User-Agent"] = OCEAN_UA
        yield raw


async def _setup_blueprints(client: httpx.AsyncClient) -> None:
    for bp in (SERVICE_BP, INCIDENT_BP):
        response = await client.post("/v1/blueprints", json=bp)
        assert response.status_code == 201, response.text


async def _bulk(
    client: httpx.AsyncClient,
    bp: str,
    entities: list[dict[str, Any]],
    merge: bool = True,
    cmr: bool = True,
) -> httpx.Response:
    url = BULK.format(bp=bp, merge=str(merge).lower(), cmr=str(cmr).lower())
    return await client.post(url, json={"entities": entities})


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
    await _setup_blueprints(client)
    assert (await client.post("/v1/blueprints", json=SERVICE_BP)).status_code == 409
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
    await _setup_blueprints(client)
    first = await _bulk(
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
    await _bulk(client, "svc", [{"identifier": "a", "properties": {"score": 2}}])
    a = state.entities["svc"]["a"]
    assert a["properties"] == {"status": "active", "score": 2}
    assert a["title"] == "A"
    # merge=false replaces the entity
    await _bulk(
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
    await _setup_blueprints(client)
    entity = {"identifier": "a", "title": "A", "properties": {"score": 1}}
    await _bulk(client, "svc", [entity])
    stamp = state.entities["svc"]["a"]["updatedAt"]
    await asyncio.sleep(0.005)
    await _bulk(client, "svc", [entity])
    assert state.entities["svc"]["a"]["updatedAt"] == stamp
    await _bulk(client, "svc", [{**entity, "properties": {"score": 2}}])
    assert state.entities["svc"]["a"]["updatedAt"] != stamp


async def test_missing_related_entities(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await _setup_blueprints(client)
    refused = await _bulk(
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

    created = await _bulk(
        client, "inc", [{"identifier": "i1", "relations": {"service": "ghost"}}]
    )
    assert created.status_code == 200
    stub = state.entities["svc"]["ghost"]
    assert stub["identifier"] == "ghost" and stub["properties"] == {}
    assert state.datasources[("svc", "ghost")] == OCEAN_UA


async def test_mismatches_are_recorded_not_rejected(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await _setup_blueprints(client)
    await _bulk(client, "svc", [{"identifier": "s1"}])
    response = await _bulk(
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
    await _bulk(
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
    await _bulk(client, "inc", [{"identifier": "i2", "relations": {"nope": "s1"}}])
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
        await _setup_blueprints(raw)
        bulk = await _bulk(
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


async def test_search_shapes_ocean_sends(
    client: httpx.AsyncClient, state: PortState
) -> None:
    await _setup_blueprints(client)
    await _bulk(
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
    await _setup_blueprints(client)
    await _bulk(client, "svc", [{"identifier": f"s{i}"} for i in range(5)])
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
    await _setup_blueprints(client)
    await _bulk(client, "svc", [{"identifier": f"s{i}"} for i in range(4)])
    await _bulk(client, "inc", [{"identifier": "i1", "relations": {"service": "s0"}}])
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
            "blueprints": [SERVICE_BP],
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
TOY_MAIN = """
import os
from typing import Any

from port_ocean.context.ocean import ocean


@ocean.on_resync("toy-item")
async def on_resync_items(kind: str) -> list[dict[str, Any]]:
    count = int(os.environ["TOY_ITEM_COUNT"])
    return [
        {"id": f"item-{i}", "name": f"Item {i}", "size": i * 10, "group": f"group-{i % 2}"}
        for i in range(count)
    ]
"""
TOY_SPEC = """
description: throwaway integration for the Port stand-in tests
icon: Blueprint
features:
  - type: exporter
    section: Testing
    resources:
      - kind: toy-item
configurations: []
"""
TOY_BLUEPRINTS = [
    {
        "identifier": "toyGroup",
        "title": "Toy Group",
        "schema": {"properties": {}},
        "relations": {},
    },
    {
        "identifier": "toyItem",
        "title": "Toy Item",
        "schema": {
            "properties": {"size": {"type": "number", "title": "Size"}},
            "required": [],
        },
        "relations": {
            "group": {
                "title": "Group",
                "target": "toyGroup",
                "required": False,
                "many": False,
            }
        },
    },
]
TOY_APP_CONFIG = """
createMissingRelatedEntities: true
deleteDependentEntities: true
resources:
  - kind: toy-item
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"toyItem"'
          properties:
            size: .size
          relations:
            group: .group
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def toy_integration(tmp_path: Path) -> Path:
    root = tmp_path / "toy"
    (root / ".port" / "resources").mkdir(parents=True)
    (root / "main.py").write_text(TOY_MAIN)
    (root / "pyproject.toml").write_text('[project]\nname = "toy"\nversion = "0.1.0"\n')
    (root / ".port" / "spec.yaml").write_text(TOY_SPEC)
    (root / ".port" / "resources" / "blueprints.json").write_text(
        json.dumps(TOY_BLUEPRINTS)
    )
    (root / ".port" / "resources" / "port-app-config.yaml").write_text(TOY_APP_CONFIG)
    return root


@pytest.fixture
def standin_process(
    tmp_path: Path,
) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    ready = tmp_path / "ready"
    dump = tmp_path / "dump.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.port",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--dump",
            str(dump),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split(" ", 1)[1]
        assert ready.read_text().strip() == url
        yield url, dump, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _ocean_env(url: str, count: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OCEAN__", "APPLICATION__"))
    }
    env.update(
        {
            "TOY_ITEM_COUNT": str(count),
            "OCEAN__PORT__BASE_URL": url,
            "OCEAN__PORT__CLIENT_ID": "toy-client",
            "OCEAN__PORT__CLIENT_SECRET": "toy-secret",
            "OCEAN__EVENT_LISTENER": '{"type":"ONCE"}',
            "OCEAN__INITIALIZE_PORT_RESOURCES": "true",
            "OCEAN__INTEGRATION__IDENTIFIER": "toy-1",
            "OCEAN__INTEGRATION__TYPE": "toy",
            "OCEAN__CACHING_STORAGE_MODE": "memory",
            "OCEAN__PROCESSING_MODE": "ocean-core",
            "OCEAN__LAKEHOUSE_ENABLED": "false",
            "APPLICATION__PORT": str(_free_port()),
        }
    )
    return env


def _sail(integration: Path, url: str, count: int) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "ocean"), "sail", "."],
        cwd=integration,
        env=_ocean_env(url, count),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.mark.timeout(60)
def test_real_ocean_sail_initializes_syncs_and_reconciles(
    toy_integration: Path, standin_process: tuple[str, Path, subprocess.Popen[str]]
) -> None:
    url, dump, proc = standin_process
    _sail(toy_integration, url, count=3)
    catalog = httpx.get(f"{url}/_standin/catalog").json()
    assert {"toyGroup", "toyItem"} <= set(catalog["blueprints"])
    assert (
        catalog["blueprints"]["toyItem"]["relations"]["group"]["target"] == "toyGroup"
    )
    assert set(catalog["entities"]["toyItem"]) == {"item-0", "item-1", "item-2"}
    assert catalog["entities"]["toyItem"]["item-2"]["properties"] == {"size": 20}
    assert catalog["entities"]["toyItem"]["item-1"]["relations"] == {"group": "group-1"}
    assert set(catalog["entities"]["toyGroup"]) == {"group-0", "group-1"}  # stubs
    integration = httpx.get(f"{url}/_standin/integration/toy-1").json()
    assert integration["resyncState"]["status"] == "completed"
    assert integration["arePortResourcesInitialized"] is True
    assert integration["config"]["resources"][0]["kind"] == "toy-item"
    assert httpx.get(f"{url}/_standin/mismatches").json()["count"] == 0
    requests = httpx.get(f"{url}/_standin/requests").json()
    assert requests["unknown"] == [], requests["unknown"]
    assert requests["counts"]["POST /v1/integration"] == 1

    # second run yields one item fewer: reconciliation deletes exactly that entity
    _sail(toy_integration, url, count=2)
    deleted = httpx.get(f"{url}/_standin/deleted").json()["deleted"]
    assert [(d["blueprint"], d["identifier"]) for d in deleted] == [
        ("toyItem", "item-2")
    ]
    catalog = httpx.get(f"{url}/_standin/catalog").json()
    assert set(catalog["entities"]["toyItem"]) == {"item-0", "item-1"}
    assert set(catalog["entities"]["toyGroup"]) == {"group-0", "group-1"}
    integration = httpx.get(f"{url}/_standin/integration/toy-1").json()
    assert [s["status"] for s in integration["resyncStateHistory"]] == [
        "running",
        "completed",
        "running",
        "completed",
    ]
    requests = httpx.get(f"{url}/_standin/requests").json()
    assert requests["unknown"] == [], requests["unknown"]
    assert requests["counts"]["POST /v1/integration"] == 1  # reused, not re-created

    # SIGTERM writes the catalog dump and exits cleanly
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    dumped = json.loads(dump.read_text())
    assert set(dumped["entities"]["toyItem"]) == {"item-0", "item-1"}
