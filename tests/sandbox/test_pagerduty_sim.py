"""Tests for the local PagerDuty REST API simulator."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import pd_data
from sandbox.pagerduty_sim import (
    PagerDutySim,
    SimConfig,
    create_app,
    serve_in_background,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "test-token"
AUTH = {"Authorization": f"Token token={TOKEN}"}
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


# ============================================================ pagination
async def test_pagination_more_and_total() -> None:
    async with sim_client() as (client, _):
        first = (await client.get("/services?limit=7")).json()
        assert (first["limit"], first["offset"], first["more"], first["total"]) == (
            7,
            0,
            True,
            None,
        )
        with_total = (await client.get("/services?limit=7&total=true")).json()
        assert with_total["total"] == 20
        last = (await client.get("/services?limit=7&offset=14")).json()
        assert len(last["services"]) == 6 and last["more"] is False
        services = await fetch_all(client, "/services", "services", limit=7)
        assert len({s["id"] for s in services}) == 20
        names = [s["name"] for s in services]
        assert names == sorted(names, key=str.lower)


async def test_limit_is_clamped_to_100_and_defaults_to_25() -> None:
    async with sim_client() as (client, _):
        default = (await client.get("/incidents?date_range=all")).json()
        assert default["limit"] == 25 and len(default["incidents"]) == 25
        clamped = (await client.get("/incidents?date_range=all&limit=500")).json()
        assert clamped["limit"] == 100 and len(clamped["incidents"]) == 100


async def test_offset_plus_limit_above_10000_is_rejected() -> None:
    async with sim_client() as (client, _):
        ok = await client.get("/incidents?date_range=all&offset=9900&limit=100")
        assert ok.status_code == 200
        assert ok.json()["incidents"] == [] and ok.json()["more"] is False
        rejected = await client.get("/incidents?date_range=all&offset=9901&limit=100")
        assert rejected.status_code == 400
        error = rejected.json()["error"]
        assert error["code"] == 2002
        assert error["message"] == "Arguments Caused Error"
        assert error["errors"][0].startswith(
            "Offset+limit exceeds maximum allowed value of 10000"
        )
        assert (await client.get("/services?offset=10000")).status_code == 400


# ============================================================ incidents
async def test_default_window_is_last_month_and_date_range_all_returns_everything() -> (
    None
):
    async with sim_client() as (client, sim):
        cutoff = NOW.timestamp() - 30 * 86400
        expected_recent = sum(
            1
            for inc in sim.store.incidents.values()
            if iso_to_ts(inc["created_at"]) >= cutoff
        )
        default = (await client.get("/incidents?total=true")).json()
        assert default["total"] == expected_recent
        everything = await fetch_all(client, "/incidents?date_range=all", "incidents")
        assert len(everything) == 600
        numbers = [inc["incident_number"] for inc in everything]
        assert numbers == sorted(numbers) == list(range(1, 601))
        created = [iso_to_ts(inc["created_at"]) for inc in everything]
        assert created == sorted(created)
        assert min(created) >= NOW.timestamp() - 731 * 86400


async def test_since_until_filters_and_six_month_cap() -> None:
    async with sim_client() as (client, sim):
        since, until = NOW - timedelta(days=120), NOW - timedelta(days=60)
        params = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "total": "true",
        }
        body = (await client.get("/incidents", params=params)).json()
        expected = [
            inc
            for inc in sim.store.incidents.values()
            if since.timestamp() <= iso_to_ts(inc["created_at"]) < until.timestamp()
        ]
        assert body["total"] == len(expected) > 0
        too_long = {
            "since": (NOW - timedelta(days=200)).isoformat(),
            "until": NOW.isoformat(),
        }
        response = await client.get("/incidents", params=too_long)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 2001
        only_since = (
            await client.get("/incidents", params={"since": since.isoformat()})
        ).json()
        for inc in only_since["incidents"]:
            assert (
                since.timestamp()
                <= iso_to_ts(inc["created_at"])
                < since.timestamp() + 30 * 86400
            )
        bad = await client.get("/incidents", params={"since": "yesterday-ish"})
        assert bad.status_code == 400


async def test_statuses_follow_age() -> None:
    async with sim_client() as (client, _):
        everything = await fetch_all(client, "/incidents?date_range=all", "incidents")
        week_ago = NOW.timestamp() - 7 * 86400
        for inc in everything:
            if iso_to_ts(inc["created_at"]) < week_ago:
                assert inc["status"] == "resolved"
            if inc["status"] == "resolved":
                assert inc["resolved_at"] is not None
                assert inc["last_status_change_at"] == inc["resolved_at"]
            else:
                assert inc["resolved_at"] is None and inc["assignments"]
        priorities = [inc["priority"] for inc in everything]
        null_share = priorities.count(None) / len(priorities)
        assert 0.3 < null_share < 0.5


async def test_incident_filters_and_sorting() -> None:
    async with sim_client() as (client, sim):
        everything = await fetch_all(client, "/incidents?date_range=all", "incidents")
        service_id = everything[0]["service"]["id"]
        by_service = await fetch_all(
            client, f"/incidents?date_range=all&service_ids[]={service_id}", "incidents"
        )
        assert by_service and all(i["service"]["id"] == service_id for i in by_service)
        assert len(by_service) == sum(
            1 for i in everything if i["service"]["id"] == service_id
        )

        low = await fetch_all(
            client, "/incidents?date_range=all&urgencies[]=low", "incidents"
        )
        assert low and all(i["urgency"] == "low" for i in low)

        team_id = everything[0]["teams"][0]["id"]
        by_team = await fetch_all(
            client, f"/incidents?date_range=all&team_ids[]={team_id}", "incidents"
        )
        assert by_team and all(
            team_id in {t["id"] for t in i["teams"]} for i in by_team
        )

        open_incidents = await fetch_all(
            client,
            "/incidents?date_range=all&statuses[]=triggered&statuses[]=acknowledged",
            "incidents",
        )
        assert open_incidents and all(i["status"] != "resolved" for i in open_incidents)
        user_id = open_incidents[0]["assignments"][0]["assignee"]["id"]
        assert user_id in sim.store.users
        mine = await fetch_all(
            client, f"/incidents?date_range=all&user_ids[]={user_id}", "incidents"
        )
        assert mine and all(
            user_id in {a["assignee"]["id"] for a in i["assignments"]} for i in mine
        )

        key = everything[3]["incident_key"]
        keyed = (
            await client.get(f"/incidents?date_range=all&incident_key={key}")
        ).json()
        assert [i["id"] for i in keyed["incidents"]] == [everything[3]["id"]]

        newest = (
            await client.get(
                "/incidents?date_range=all&sort_by=created_at:desc&limit=3"
            )
        ).json()
        assert [i["id"] for i in newest["incidents"]] == [
            i["id"] for i in everything[-3:][::-1]
        ]


async def test_incident_shape_and_references() -> None:
    async with sim_client() as (client, sim):
        incident = (await client.get("/incidents?date_range=all&limit=1")).json()[
            "incidents"
        ][0]
        expected_keys = (
            "id type summary self html_url incident_number title description created_at "
            "updated_at status incident_key service assignments escalation_policy teams "
            "priority urgency last_status_change_at resolved_at first_trigger_log_entry"
        )
        for key in expected_keys.split(" "):
            assert key in incident, key
        assert incident["type"] == "incident"
        assert (
            incident["summary"]
            == f"[#{incident['incident_number']}] {incident['title']}"
        )
        service = sim.store.services[incident["service"]["id"]]
        assert incident["service"] == {
            "id": service["id"],
            "type": "service_reference",
            "summary": service["name"],
            "self": service["self"],
            "html_url": f"https://sandbox.pagerduty.local/service-directory/{service['id']}",
        }
        assert incident["escalation_policy"]["id"] == service["escalation_policy"]["id"]
        assert incident["teams"] == service["teams"]
        single = (await client.get(f"/incidents/{incident['id']}")).json()
        assert single == {"incident": incident}
        missing = await client.get("/incidents/PNOPE00")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"message": "Not Found", "code": 2100}}


async def test_include_expansion_replaces_references_with_objects() -> None:
    async with sim_client() as (client, sim):
        query = "&".join(
            f"include[]={name}"
            for name in (
                "services",
                "assignees",
                "teams",
                "escalation_policies",
                "first_trigger_log_entries",
                "priorities",
            )
        )
        body = (
            await client.get(f"/incidents?date_range=all&statuses[]=triggered&{query}")
        ).json()
        incident = body["incidents"][0]
        assert (
            incident["service"]["type"] == "service" and "name" in incident["service"]
        )
        assert incident["assignments"][0]["assignee"]["type"] == "user"
        assert "email" in incident["assignments"][0]["assignee"]
        assert incident["teams"][0]["type"] == "team"
        assert incident["escalation_policy"]["type"] == "escalation_policy"
        assert incident["first_trigger_log_entry"]["type"] == "trigger_log_entry"
        plain = sim.store.incidents[incident["id"]]
        assert plain["service"]["type"] == "service_reference"  # the store is untouched
        assert incident["service"]["id"] == plain["service"]["id"]

        services = (
            await client.get("/services?include[]=escalation_policies&include[]=teams")
        ).json()
        service = services["services"][0]
        assert service["escalation_policy"]["type"] == "escalation_policy"
        assert service["teams"][0]["type"] == "team"


# ============================================================ people, schedules, on-call
async def test_users_teams_and_members() -> None:
    async with sim_client() as (client, _):
        users = await fetch_all(client, "/users", "users")
        assert len(users) == 30
        emails = [u["email"] for u in users]
        assert len(set(emails)) == 30 and all(
            e.endswith("@example.com") for e in emails
        )
        assert all(u["id"].startswith("P") and len(u["id"]) == 7 for u in users)
        teams = (await client.get("/teams")).json()["teams"]
        team_id = teams[0]["id"]
        members = (await client.get(f"/teams/{team_id}/members?include[]=users")).json()
        member_ids = {m["user"]["id"] for m in members["members"]}
        filtered = await fetch_all(client, f"/users?team_ids[]={team_id}", "users")
        assert member_ids == {u["id"] for u in filtered}
        assert all("email" in m["user"] for m in members["members"])
        assert (await client.get(f"/teams/{team_id}")).json()["team"]["id"] == team_id


async def test_oncalls_are_consistent_with_policies() -> None:
    async with sim_client() as (client, sim):
        policies = await fetch_all(
            client, "/escalation_policies", "escalation_policies"
        )
        oncalls = await fetch_all(client, "/oncalls", "oncalls")
        user_ids = set(sim.store.users)
        levels: dict[str, set[int]] = {}
        for oncall in oncalls:
            assert oncall["user"]["id"] in user_ids
            assert oncall["user"]["type"] == "user_reference"
            levels.setdefault(oncall["escalation_policy"]["id"], set()).add(
                oncall["escalation_level"]
            )
            if oncall["schedule"] is not None:
                schedule = sim.store.schedules[oncall["schedule"]["id"]]
                assert oncall["user"]["id"] in {u["id"] for u in schedule["users"]}
                assert (
                    iso_to_ts(oncall["start"])
                    <= NOW.timestamp()
                    < iso_to_ts(oncall["end"])
                )
        for policy in policies:
            assert levels[policy["id"]] == set(
                range(1, len(policy["escalation_rules"]) + 1)
            )
            rule = policy["escalation_rules"][0]
            assert rule["targets"][0]["type"] == "schedule_reference"
            assert 1 <= len(policy["escalation_rules"]) <= 3
        policy_id = policies[0]["id"]
        filtered = await fetch_all(
            client,
            f"/oncalls?escalation_policy_ids[]={policy_id}&include[]=users",
            "oncalls",
        )
        assert filtered and all(
            o["escalation_policy"]["id"] == policy_id for o in filtered
        )
        assert all(o["user"]["type"] == "user" for o in filtered)


async def test_policy_and_schedule_endpoints() -> None:
    async with sim_client() as (client, sim):
        schedules = await fetch_all(
            client, "/schedules?since=2026-01-01&until=2026-02-01", "schedules"
        )
        assert len(schedules) == len(sim.store.schedules)
        schedule = schedules[0]
        assert (
            schedule["users"]
            and schedule["escalation_policies"]
            and schedule["time_zone"]
        )
        policy_id = schedule["escalation_policies"][0]["id"]
        user_id = schedule["users"][0]["id"]
        by_user = await fetch_all(
            client, f"/escalation_policies?user_ids[]={user_id}", "escalation_policies"
        )
        assert policy_id in {p["id"] for p in by_user}
        policy = (
            await client.get(f"/escalation_policies/{policy_id}?include[]=services")
        ).json()
        assert policy["escalation_policy"]["services"][0]["type"] == "service"
        assert (await client.get(f"/schedules/{schedule['id']}")).json()["schedule"][
            "id"
        ] == schedule["id"]
        assert len((await client.get("/priorities")).json()["priorities"]) == 5
        assert (await client.get("/business_services")).json()["business_services"]


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
            "/services", headers={"Authorization": f"Bearer {TOKEN}"}
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


# ============================================================ webhooks
def make_receiver() -> tuple[Starlette, list[tuple[dict[str, str], bytes]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return JSONResponse({"ok": True}, status_code=202)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])]), received


async def test_webhook_subscription_crud() -> None:
    async with sim_client() as (client, _):
        body = {
            "webhook_subscription": {
                "delivery_method": {
                    "type": "http_delivery_method",
                    "url": "http://receiver/hook",
                },
                "description": "port",
                "events": ["incident.triggered"],
                "filter": {"type": "account_reference"},
                "type": "webhook_subscription",
            }
        }
        created = await client.post("/webhook_subscriptions", json=body)
        assert created.status_code == 201
        subscription = created.json()["webhook_subscription"]
        assert subscription["delivery_method"]["secret"]
        assert subscription["active"] is True
        fetched = (
            await client.get(f"/webhook_subscriptions/{subscription['id']}")
        ).json()
        assert fetched["webhook_subscription"]["delivery_method"]["secret"] is None
        listed = (await client.get("/webhook_subscriptions")).json()[
            "webhook_subscriptions"
        ]
        assert [s["id"] for s in listed] == [subscription["id"]]
        update = {
            "webhook_subscription": {"events": ["incident.resolved"], "active": False}
        }
        updated = (
            await client.put(
                f"/webhook_subscriptions/{subscription['id']}", json=update
            )
        ).json()
        assert updated["webhook_subscription"]["events"] == ["incident.resolved"]
        assert (
            await client.delete(f"/webhook_subscriptions/{subscription['id']}")
        ).status_code == 204
        assert (
            await client.get(f"/webhook_subscriptions/{subscription['id']}")
        ).status_code == 404
        invalid = await client.post(
            "/webhook_subscriptions", json={"webhook_subscription": {}}
        )
        assert invalid.status_code == 400


async def test_webhook_delivery_is_signed_and_shaped_like_pagerduty() -> None:
    receiver, received = make_receiver()
    config = replace(BASE, webhook_transport=httpx.ASGITransport(app=receiver))
    async with sim_client(config) as (client, sim):
        body = {
            "webhook_subscription": {
                "delivery_method": {
                    "type": "http_delivery_method",
                    "url": "http://receiver/hook",
                    "custom_headers": [{"name": "X-Port-Test", "value": "yes"}],
                },
                "events": [
                    "incident.resolved",
                    "incident.annotated",
                    "service.updated",
                ],
                "filter": {"type": "account_reference"},
            }
        }
        created = (await client.post("/webhook_subscriptions", json=body)).json()
        secret = created["webhook_subscription"]["delivery_method"]["secret"]
        subscription_id = created["webhook_subscription"]["id"]
        incident_id = sim.store.incident_order[-1]

        result = (
            await client.post(
                "/_sim/webhooks/deliver",
                json={"event_type": "incident.resolved", "resource_id": incident_id},
            )
        ).json()
        assert [d["status_code"] for d in result["deliveries"]] == [202]
        headers, raw = received[-1]
        expected = "v1=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-pagerduty-signature"], expected)
        assert headers["x-webhook-id"] == result["webhook_id"]
        assert headers["x-webhook-subscription"] == subscription_id
        assert headers["x-port-test"] == "yes"
        assert headers["content-type"] == "application/json"
        event = json.loads(raw)["event"]
        assert event["event_type"] == "incident.resolved"
        assert event["resource_type"] == "incident"
        assert {"id", "occurred_at", "agent", "client", "data"} <= set(event)
        assert (
            event["data"]["id"] == incident_id and event["data"]["type"] == "incident"
        )

        redelivered = (
            await client.post(
                "/_sim/webhooks/deliver",
                json={
                    "event_type": "incident.annotated",
                    "resource_id": incident_id,
                    "webhook_id": result["webhook_id"],
                },
            )
        ).json()
        assert redelivered["webhook_id"] == result["webhook_id"]
        note = json.loads(received[-1][1])["event"]["data"]
        assert note["type"] == "incident_note" and note["incident"]["id"] == incident_id

        service_id = next(iter(sim.store.services))
        await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "service.updated", "resource_id": service_id},
        )
        service_event = json.loads(received[-1][1])["event"]
        assert service_event["resource_type"] == "service"
        assert service_event["data"]["id"] == service_id

        filtered = await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "incident.triggered", "resource_id": incident_id},
        )
        assert filtered.json()["deliveries"] == []  # not subscribed to that event

        forged = await client.post(
            "/_sim/webhooks/deliver",
            json={
                "event_type": "incident.resolved",
                "resource_id": incident_id,
                "url": "http://receiver/hook",
                "signature": "v1=deadbeef",
            },
        )
        assert forged.status_code == 200
        assert received[-1][0]["x-pagerduty-signature"] == "v1=deadbeef"
        missing = await client.post(
            "/_sim/webhooks/deliver",
            json={"event_type": "incident.resolved", "resource_id": "PNOPE"},
        )
        assert missing.status_code == 404


# ============================================================ analytics & custom fields
async def test_analytics_metrics_and_daily_limit() -> None:
    config = replace(BASE, analytics_daily_limit=2)
    async with sim_client(config) as (client, sim):
        filters = {
            "created_at_start": (NOW - timedelta(days=180)).isoformat(),
            "created_at_end": NOW.isoformat(),
        }
        response = await client.post(
            "/analytics/metrics/incidents/services", json={"filters": filters}
        )
        assert response.status_code == 200
        assert response.headers["daily-ratelimit-limit"] == "2"
        assert response.headers["daily-ratelimit-remaining"] == "1"
        rows = response.json()["data"]
        assert rows and all(row["service_id"] in sim.store.services for row in rows)
        row = rows[0]
        assert row["total_incident_count"] > 0 and row["mean_seconds_to_resolve"] > 0
        assert row["mean_seconds_to_first_ack"] <= row["mean_seconds_to_resolve"]
        only = {**filters, "service_ids": [row["service_id"]]}
        narrowed = await client.post(
            "/analytics/metrics/incidents/services", json={"filters": only}
        )
        assert [r["service_id"] for r in narrowed.json()["data"]] == [row["service_id"]]
        exhausted = await client.post(
            "/analytics/metrics/incidents/services", json={"filters": filters}
        )
        assert exhausted.status_code == 429
        assert exhausted.headers["daily-ratelimit-remaining"] == "0"


async def test_custom_field_values() -> None:
    async with sim_client() as (client, sim):
        incident_id = sim.store.incident_order[0]
        values = (
            await client.get(f"/incidents/{incident_id}/custom_fields/values")
        ).json()
        assert {f["name"] for f in values["custom_fields"]} >= {"environment", "region"}
        service_id = next(iter(sim.store.services))
        service_values = (
            await client.get(f"/services/{service_id}/custom_fields/values")
        ).json()
        assert service_values["custom_fields"][0]["value"]


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
    store = pd_data.generate(5, pd_data.DataSizes(2000, 50000, 40, 500), "http://sim")
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
        "sandbox.pagerduty_sim",
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
