"""Rate limits, the 10,000 offset cap, tokens, and incident windows in time zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox.pagerduty.cli import config_from_args, parse_args
from tests.sandbox.pagerduty.helpers import (
    BASE,
    NOW,
    TOKEN,
    iso_to_ts,
    response_violations,
    sim_client,
)

LIMITED = replace(BASE, rate_limit_per_minute=50, rate_window_seconds=60)
CLASSIC_LISTS = (
    "/services",
    "/incidents?date_range=all",
    "/log_entries",
    "/users",
    "/teams",
    "/schedules",
    "/escalation_policies",
    "/oncalls",
    "/priorities",
    "/business_services",
    "/webhook_subscriptions",
)


@pytest.mark.contract_violations
async def test_rate_limit_headers_on_every_answer() -> None:
    async with sim_client(LIMITED) as (client, sim):
        answers = [
            await client.get("/teams"),
            await client.get("/incidents/PNOPE00"),
            await client.get("/incidents?statuses=triggered"),
            await client.get("/teams", headers={"Authorization": "Token token=bad"}),
        ]
        assert [a.status_code for a in answers] == [200, 404, 400, 401]
        for answer in answers:
            assert int(answer.headers["ratelimit-limit"]) == 50
            assert int(answer.headers["ratelimit-remaining"]) >= 0
            assert int(answer.headers["ratelimit-reset"]) >= 1


async def test_oncalls_and_incident_creation_have_tighter_limits() -> None:
    config = replace(
        LIMITED,
        oncalls_rate_limit_per_minute=2,
        incident_create_rate_limit_per_minute=1,
    )
    async with sim_client(config) as (client, sim):
        first = await client.get("/oncalls")
        assert first.headers["ratelimit-limit"] == "2"
        assert first.headers["ratelimit-remaining"] == "1"
        assert (await client.get("/oncalls")).status_code == 200
        limited = await client.get("/oncalls")
        assert limited.status_code == 429
        assert limited.json() == {
            "error": {"message": "Rate Limit Exceeded", "code": 2020}
        }
        assert (await client.get("/teams")).status_code == 200  # only /oncalls is spent
        service = next(iter(sim.store.services.values()))
        email = next(iter(sim.store.users_by_email))
        body = {
            "incident": {
                "type": "incident",
                "title": "t",
                "service": {"id": service["id"], "type": "service_reference"},
            }
        }
        headers = {"From": email}
        created = await client.post("/incidents", json=body, headers=headers)
        assert created.status_code == 201
        again = await client.post("/incidents", json=body, headers=headers)
        assert again.status_code == 429
        await client.post("/_sim/rate_limit/reset")
        assert (await client.get("/oncalls")).status_code == 200
        defaults = config_from_args(parse_args([]))
        assert defaults.oncalls_rate_limit_per_minute == 600
        assert defaults.incident_create_rate_limit_per_minute == 120
        flags = config_from_args(
            parse_args(
                [
                    "--oncalls-rate-limit-per-minute",
                    "5",
                    "--incident-create-rate-limit-per-minute",
                    "6",
                ]
            )
        )
        assert (
            flags.oncalls_rate_limit_per_minute,
            flags.incident_create_rate_limit_per_minute,
        ) == (5, 6)


@pytest.mark.parametrize("path", CLASSIC_LISTS)
async def test_offset_cap_on_every_classic_list(path: str) -> None:
    async with sim_client() as (client, sim):
        separator = "&" if "?" in path else "?"
        ok = await client.get(f"{path}{separator}offset=9900&limit=100")
        assert ok.status_code == 200, ok.text
        capped = await client.get(f"{path}{separator}offset=9901&limit=100")
        assert capped.status_code == 400
        assert capped.json()["error"]["code"] == 2002
        assert response_violations(sim) == []


async def test_tokens_rotate_and_read_only_tokens_cannot_write() -> None:
    async with sim_client() as (client, sim):
        rotated = await client.post(
            "/_sim/config", json={"token": "new-token", "tokens": []}
        )
        assert rotated.json()["token"] == "new-token"
        assert (await client.get("/teams")).status_code == 401  # the old token
        new = {"Authorization": "Token token=new-token"}
        assert (await client.get("/teams", headers=new)).status_code == 200
        await client.post("/_sim/config", json={"tokens": [TOKEN]})  # both accepted
        assert (await client.get("/teams")).status_code == 200
        await client.post("/_sim/config", json={"read_only_tokens": [TOKEN]})
        body = {
            "webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": "http://x"},
                "events": ["incident.triggered"],
                "filter": {"type": "account_reference"},
            }
        }
        refused = await client.post("/webhook_subscriptions", json=body)
        assert refused.status_code == 403
        assert refused.json() == {"error": {"message": "Access Denied", "code": 2010}}
        assert (await client.get("/teams")).status_code == 200  # reads still work
        analytics = await client.post(
            "/analytics/metrics/incidents/services", json={"filters": {}}
        )
        assert analytics.status_code == 200  # a POST that only reads
        assert (
            await client.post("/webhook_subscriptions", json=body, headers=new)
        ).status_code == 200
        bad = await client.post("/_sim/config", json={"tokens": "x"})
        assert bad.status_code == 400
        flags = config_from_args(
            parse_args(["--extra-token", "a", "--read-only-token", "b"])
        )
        assert (flags.tokens, flags.read_only_tokens) == (["a"], ["b"])


async def test_time_zone_reads_since_until_and_renders_times() -> None:
    async with sim_client() as (client, sim):
        # Offset-less times are read in time_zone: 00:00 in Tokyo is 15:00 UTC before.
        params = "since=2026-02-01T00:00:00&until=2026-02-15T00:00:00"
        tokyo = (
            await client.get(f"/incidents?{params}&time_zone=Asia/Tokyo&limit=100")
        ).json()["incidents"]
        utc = (await client.get(f"/incidents?{params}&limit=100")).json()["incidents"]
        low = datetime(2026, 1, 31, 15, tzinfo=UTC).timestamp()
        high = datetime(2026, 2, 14, 15, tzinfo=UTC).timestamp()
        expected = [
            i
            for i in sim.store.incident_order
            if low <= iso_to_ts(sim.store.incidents[i]["created_at"]) < high
        ]
        assert [i["id"] for i in tokyo] == expected
        # An incident an hour into a Tokyo-local window is outside the same
        # wall-clock window read as UTC (9 hours later).
        incident = sim.store.incidents[sim.store.incident_order[-5]]
        created = iso_to_ts(incident["created_at"])
        zone = ZoneInfo("Asia/Tokyo")
        local = datetime.fromtimestamp(created - 3600, zone).replace(tzinfo=None)
        narrow = {
            "since": local.isoformat(),
            "until": (local + timedelta(hours=2)).isoformat(),
        }
        in_tokyo = await client.get(
            "/incidents", params={**narrow, "time_zone": "Asia/Tokyo"}
        )
        as_utc = await client.get("/incidents", params=narrow)
        assert incident["id"] in {i["id"] for i in in_tokyo.json()["incidents"]}
        assert incident["id"] not in {i["id"] for i in as_utc.json()["incidents"]}
        assert all(i["created_at"].endswith("+09:00") for i in tokyo)
        assert all(i["created_at"].endswith("Z") for i in utc)
        same = [t for t in tokyo if t["id"] == utc[0]["id"]] if utc else []
        for t in same:
            assert iso_to_ts(t["created_at"]) == iso_to_ts(utc[0]["created_at"])
        explicit_utc = await client.get(f"/incidents?{params}&time_zone=UTC")
        assert explicit_utc.status_code == 200
        unknown = await client.get("/incidents?time_zone=Mars/Olympus")
        assert unknown.status_code == 400
        assert response_violations(sim) == []


async def test_incident_range_over_six_months_is_refused() -> None:
    async with sim_client() as (client, _):
        since = NOW - timedelta(days=200)
        far = {"since": since.isoformat(), "until": NOW.isoformat()}
        assert (await client.get("/incidents", params=far)).status_code == 400
        ignored = await client.get("/incidents", params={**far, "date_range": "all"})
        assert ignored.status_code == 200
        six = {
            "since": datetime(2025, 9, 1, tzinfo=UTC).isoformat(),
            "until": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
        }
        assert (await client.get("/incidents", params=six)).status_code == 200
