"""Blueprints and bulk upserts shared by the Port stand-in's API tests."""

from __future__ import annotations

from typing import Any

import httpx

TYPED_SERVICE_BP: dict[str, Any] = {
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


async def setup_blueprints(client: httpx.AsyncClient) -> None:
    for bp in (TYPED_SERVICE_BP, INCIDENT_BP):
        response = await client.post("/v1/blueprints", json=bp)
        assert response.status_code == 201, response.text


async def bulk_upsert(
    client: httpx.AsyncClient,
    bp: str,
    entities: list[dict[str, Any]],
    merge: bool = True,
    cmr: bool = True,
) -> httpx.Response:
    url = BULK.format(bp=bp, merge=str(merge).lower(), cmr=str(cmr).lower())
    return await client.post(url, json={"entities": entities})
