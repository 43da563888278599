"""Auth, limits, faults, counters, the control API, determinism and serving."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.pagerduty import serve_in_background
from sandbox.pagerduty.data import DataSizes, generate
from tests.sandbox.pagerduty.helpers import (
    AUTH,
    BASE,
    REPO_ROOT,
    TOKEN,
    fetch_all,
    sim_client,
)


# ============================================================ auth, limits, faults
async def test_authentication() -> None:
    async with sim_client(headers={}) as (client, sim):
        for headers in (
            {},
            {"Authorization": "Token token=wrong"},
            {"Authorization": TOKEN},
        ):
            response = await client.get("/services", headers=headers)
            assert response.status_code == 401
            assert response.json() == {
                "error": {"message": "Authentication failed", "code": 2006}
            }
        bearer = await client.get(
            "/services", headers={**AUTH, "Authorization": f"Bearer {TOKEN}"}
        )
        assert bearer.status_code == 200
        assert sim.counters.snapshot()["by_status"]["401"] == 3


async def test_rate_limit_answers_429_with_headers() -> None:
    config = replace(BASE, rate_limit_per_minute=5, rate_window_seconds=0.5)
    async with sim_client(config) as (client, _):
        remaining = []
        for _ in range(5):
            response = await client.get("/teams")
            assert response.status_code == 200
            assert response.headers["ratelimit-limit"] == "5"
            remaining.append(int(response.headers["ratelimit-remaining"]))
            assert int(response.headers["ratelimit-reset"]) >= 1
        assert remaining == [4, 3, 2, 1, 0]
        limited = await client.get("/services")
        assert limited.status_code == 429
        assert limited.json() == {
            "error": {"message": "Rate Limit Exceeded", "code": 2020}
        }
        assert limited.headers["ratelimit-remaining"] == "0"
        counters = (await client.get("/_sim/counters")).json()
        assert counters["status_429"] == 1 and counters["total"] == 6
        await asyncio.sleep(0.55)
        assert (await client.get("/services")).status_code == 200


async def test_fault_injection_rate_is_roughly_honoured_and_deterministic() -> None:
    async def failures(seed: int) -> list[int]:
        config = replace(BASE, seed=seed, services=5, incidents=10, fault_rate=0.3)
        async with sim_client(config) as (client, _):
            codes = [(await client.get("/teams")).status_code for _ in range(300)]
        return [i for i, code in enumerate(codes) if code == 500]

    first = await failures(3)
    assert 0.2 < len(first) / 300 < 0.4
    assert first == await failures(3)
    async with sim_client(replace(BASE, fault_rate=1.0)) as (client, _):
        response = await client.get("/services")
        assert response.status_code == 500 and response.json()["error"]["code"] == 2000
        assert (await client.get("/_sim/counters")).json()["status_5xx"] == 1


async def test_runtime_config_and_fail_paths() -> None:
    async with sim_client() as (client, _):
        update = await client.post(
            "/_sim/config", json={"fail_paths": {"/incidents": 503}, "latency_ms": 1}
        )
        assert update.json()["fail_paths"] == {"/incidents": 503}
        assert (await client.get("/incidents")).status_code == 503
        assert (await client.get("/incidents/PXXXXXX")).status_code == 503
        assert (await client.get("/services")).status_code == 200
        await client.post("/_sim/config", json={"fail_paths": [], "token": "rotated"})
        assert (await client.get("/incidents")).status_code == 401
        rotated = await client.get(
            "/incidents", headers={"Authorization": "Token token=rotated"}
        )
        assert rotated.status_code == 200
        assert (
            await client.post("/_sim/config", json={"nonsense": 1})
        ).status_code == 400


# ============================================================ counters and control API
async def test_counters_group_templated_paths_and_reset() -> None:
    async with sim_client() as (client, sim):
        service_ids = list(sim.store.services)[:3]
        for service_id in service_ids:
            await client.get(f"/services/{service_id}")
        await client.get("/services")
        await client.get("/incidents")
        counters = (await client.get("/_sim/counters")).json()
        assert counters["by_endpoint"] == {
            "GET /incidents": 1,
            "GET /services": 1,
            "GET /services/{id}": 3,
        }
        assert counters["total"] == 5
        await client.post("/_sim/counters/reset")
        assert (await client.get("/_sim/counters")).json()["total"] == 0


async def test_stats_delete_service_and_incident_mutations() -> None:
    async with sim_client() as (client, sim):
        stats = (await client.get("/_sim/stats")).json()
        assert stats["services"] == 20 and stats["incidents_total"] == 600
        default_total = (await client.get("/incidents?total=true")).json()["total"]
        assert stats["incidents_default_window"] == default_total

        service_id = next(iter(sim.store.services))
        assert (await client.delete(f"/_sim/services/{service_id}")).status_code == 204
        assert (await client.get(f"/services/{service_id}")).status_code == 404
        assert (await client.get("/services?total=true")).json()["total"] == 19

        created = await client.post(
            "/_sim/incidents", json={"title": "Disk on fire", "urgency": "low"}
        )
        assert created.status_code == 201
        new = created.json()["incident"]
        assert new["incident_number"] == 601 and new["status"] == "triggered"
        recent = await fetch_all(client, "/incidents", "incidents")
        assert recent[-1]["id"] == new["id"]

        patched = (
            await client.post(
                f"/_sim/incidents/{new['id']}", json={"status": "resolved"}
            )
        ).json()
        incident = patched["incident"]
        assert incident["status"] == "resolved" and incident["resolved_at"]
        assert (
            incident["last_status_change_at"]
            == incident["resolved_at"]
            == incident["updated_at"]
        )
        assert incident["assignments"] == []
        bad = await client.post(
            f"/_sim/incidents/{new['id']}", json={"status": "exploded"}
        )
        assert bad.status_code == 400


# ============================================================ determinism & scale
async def test_same_seed_gives_same_data_and_other_seed_differs() -> None:
    async def snapshot(seed: int) -> tuple[Any, Any, Any]:
        async with sim_client(replace(BASE, seed=seed)) as (client, _):
            services = (await client.get("/services?limit=100")).json()
            incidents = (await client.get("/incidents?date_range=all&limit=100")).json()
            oncalls = (await client.get("/oncalls?limit=100")).json()
        return services, incidents, oncalls

    first = await snapshot(11)
    assert first == await snapshot(11)
    assert first[0] != (await snapshot(12))[0]


def test_large_generation_is_fast() -> None:
    started = time.perf_counter()
    store = generate(5, DataSizes(2000, 50000, 40, 500), "http://sim")
    elapsed = time.perf_counter() - started
    print(f"generated 2,000 services + 50,000 incidents in {elapsed:.2f}s")
    assert len(store.services) == 2000 and len(store.incidents) == 50000
    assert elapsed < 10


# ============================================================ real servers
async def test_serve_in_background_over_real_http() -> None:
    async with serve_in_background(replace(BASE, services=3, incidents=5)) as running:
        async with httpx.AsyncClient(base_url=running.base_url, headers=AUTH) as client:
            body = (await client.get("/services")).json()
        assert len(body["services"]) == 3
        assert body["services"][0]["self"].startswith(running.base_url)


def test_cli_prints_ready_and_serves(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready.txt"
    command = [
        sys.executable,
        "-m",
        "sandbox.pagerduty",
        "--port",
        "0",
        "--seed",
        "1",
        "--services",
        "5",
        "--incidents",
        "20",
        "--token",
        TOKEN,
        "--ready-file",
        str(ready_file),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.removeprefix("READY ")
        assert ready_file.read_text().strip() == url
        response = httpx.get(f"{url}/services", headers=AUTH, timeout=5)
        assert response.status_code == 200 and len(response.json()["services"]) == 5
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("header", ["Token token=", "Bearer ", "Basic abc"])
async def test_malformed_auth_headers(header: str) -> None:
    async with sim_client(headers={"Authorization": header}) as (client, _):
        assert (await client.get("/teams")).status_code == 401
