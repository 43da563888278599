"""Fixtures for the Port stand-in tests: an in-process app behind an authed client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.port import PortState, create_app

OCEAN_UA = "port-ocean/toy/0.1.0/toy-1/exporter"
RESERVED = {"x-port-reserved-usage": "true"}

SERVICE_BP: dict[str, Any] = {
    "identifier": "svc",
    "title": "Service",
    "schema": {"properties": {"status": {"type": "string"}}, "required": []},
    "relations": {},
}
GREET_ACTION: dict[str, Any] = {
    "identifier": "svc_greet",
    "title": "Greet",
    "icon": "Bell",
    "trigger": {
        "type": "self-service",
        "operation": "DAY-2",
        "blueprintIdentifier": "svc",
        "userInputs": {"properties": {"name": {"type": "string"}}, "required": []},
    },
    "invocationMethod": {
        "type": "INTEGRATION_ACTION",
        "installationId": "toy-1",
        "integrationActionType": "greet",
        "integrationActionExecutionProperties": {"name": "{{ .inputs.name }}"},
    },
}


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


@pytest.fixture
async def catalog(client: httpx.AsyncClient) -> None:
    """An integration ``toy-1``, blueprint ``svc`` with entity ``a``, action ``svc_greet``."""
    response = await client.post("/v1/integration", json={"installationId": "toy-1"})
    assert response.status_code == 201, response.text
    response = await client.post("/v1/blueprints", json=SERVICE_BP)
    assert response.status_code == 201, response.text
    response = await client.post(
        "/v1/blueprints/svc/entities?upsert=true",
        json={"identifier": "a", "title": "Service A"},
    )
    assert response.status_code == 201, response.text
    response = await client.post("/v1/actions", json=GREET_ACTION)
    assert response.status_code == 201, response.text
