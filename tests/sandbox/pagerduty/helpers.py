"""Shared helpers of the simulator tests: an in-process client and paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.pagerduty import PagerDutySim, SimConfig, create_app

REPO_ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "test-token"
AUTH = {
    "Authorization": f"Token token={TOKEN}",
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Content-Type": "application/json",
}
BASE = SimConfig(
    seed=7,
    services=20,
    incidents=600,
    teams=4,
    users=30,
    token=TOKEN,
    rate_limit_per_minute=0,
    now=NOW,
)


@asynccontextmanager
async def sim_client(
    config: SimConfig = BASE, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, PagerDutySim]]:
    app = create_app(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://sim",
        headers=AUTH if headers is None else headers,
    ) as client:
        yield client, app.state.sim


async def fetch_all(
    client: httpx.AsyncClient, path: str, key: str, limit: int = 100
) -> list[Any]:
    items: list[Any] = []
    offset = 0
    while True:
        separator = "&" if "?" in path else "?"
        response = await client.get(f"{path}{separator}limit={limit}&offset={offset}")
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body[key])
        if not body["more"]:
            return items
        offset += limit


def iso_to_ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def response_violations(sim: PagerDutySim) -> list[str]:
    """The simulator's own mistakes: answers that broke the contract."""
    return [v.describe() for v in sim.violations.items if v.direction == "response"]


def make_receiver(
    status: int = 202,
) -> tuple[Starlette, list[tuple[dict[str, str], bytes]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return JSONResponse({"ok": status < 300}, status_code=status)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), received
