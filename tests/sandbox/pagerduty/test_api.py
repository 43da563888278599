"""Reading the API: paging, incidents, people, schedules, on-call, analytics."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sandbox.pagerduty import PagerDutySim
from tests.sandbox.pagerduty.helpers import (
    BASE,
    NOW,
    fetch_all,
    iso_to_ts,
    response_violations,
    sim_client,
)


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
def created_since(sim: PagerDutySim, cutoff: float) -> int:
    return sum(
        1
        for inc in sim.store.incidents.values()
        if iso_to_ts(inc["created_at"]) >= cutoff
    )


async def test_default_window_is_a_calendar_month_or_30_days_and_date_range_all_is_everything() -> (
    None
):
    async with sim_client() as (client, sim):
        # NOW is 2026-03-01 12:00: a calendar month back is 2026-02-01 12:00 (28 days).
        calendar_cutoff = datetime(2026, 2, 1, 12, 0, tzinfo=UTC).timestamp()
        default = (await client.get("/incidents?total=true")).json()
        assert default["total"] == created_since(sim, calendar_cutoff)
        switched = await client.post(
            "/_sim/config", json={"incident_default_window": "30_days"}
        )
        assert switched.json()["incident_default_window"] == "30_days"
        thirty = (await client.get("/incidents?total=true")).json()
        assert thirty["total"] == created_since(sim, NOW.timestamp() - 30 * 86400)
        assert thirty["total"] > default["total"]
        stats = (await client.get("/_sim/stats")).json()
        assert stats["incidents_default_window"] == thirty["total"]
        bad = await client.post("/_sim/config", json={"incident_default_window": "x"})
        assert bad.status_code == 400
        everything = await fetch_all(client, "/incidents?date_range=all", "incidents")
        assert len(everything) == 600
        numbers = [inc["incident_number"] for inc in everything]
        assert numbers == sorted(numbers) == list(range(1, 601))
        created = [iso_to_ts(inc["created_at"]) for inc in everything]
        assert created == sorted(created)
        assert min(created) >= NOW.timestamp() - 731 * 86400
        assert response_violations(sim) == []


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
                < since.timestamp() + 31 * 86400
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
                assert inc.get("resolved_at") is not None
                assert inc["last_status_change_at"] == inc["resolved_at"]
            else:
                assert "resolved_at" not in inc and inc["assignments"]
        priorities = [inc.get("priority") for inc in everything]
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
            "urgency last_status_change_at first_trigger_log_entry"
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
            client,
            "/schedules?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
            "schedules",
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
