"""/oncalls over ranges, shifts, permanent on-calls and schedule overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sandbox.pagerduty import PagerDutySim
from sandbox.pagerduty.cli import config_from_args, parse_args
from sandbox.pagerduty.store import iso
from tests.sandbox.pagerduty.helpers import (
    BASE,
    NOW,
    fetch_all,
    iso_to_ts,
    response_violations,
    sim_client,
)

SHORT_SHIFTS = replace(BASE, shift_minutes=2)


def window(since: Any, until: Any) -> str:
    return f"since={iso(since.timestamp())}&until={iso(until.timestamp())}"


def scheduled(oncalls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in oncalls if o["schedule"] is not None]


def permanent_policy(sim: PagerDutySim) -> dict[str, Any]:
    return next(
        p
        for p in sim.store.policies.values()
        if any(
            t["type"] == "user_reference"
            for rule in p["escalation_rules"]
            for t in rule["targets"]
        )
    )


async def test_default_range_is_now_and_a_range_lists_every_shift() -> None:
    async with sim_client(SHORT_SHIFTS) as (client, sim):
        now_only = await fetch_all(client, "/oncalls", "oncalls")
        for oncall in scheduled(now_only):
            assert (
                iso_to_ts(oncall["start"]) <= NOW.timestamp() < iso_to_ts(oncall["end"])
            )
            assert iso_to_ts(oncall["end"]) - iso_to_ts(oncall["start"]) == 120
        schedule_levels = len(scheduled(now_only))
        five_minutes = window(NOW, NOW + timedelta(minutes=5))
        ranged = await fetch_all(client, f"/oncalls?{five_minutes}", "oncalls")
        # 12:00-12:05 overlaps the shifts starting 12:00, 12:02 and 12:04.
        assert len(scheduled(ranged)) == 3 * schedule_levels
        policy_id = scheduled(ranged)[0]["escalation_policy"]["id"]
        starts = [
            o["start"]
            for o in scheduled(ranged)
            if o["escalation_policy"]["id"] == policy_id and o["escalation_level"] == 1
        ]
        assert starts == [
            "2026-03-01T12:00:00Z",
            "2026-03-01T12:02:00Z",
            "2026-03-01T12:04:00Z",
        ]
        # Over 20 minutes (10 shifts) every rotation comes round again.
        twenty = window(NOW, NOW + timedelta(minutes=20))
        ranged = await fetch_all(client, f"/oncalls?{twenty}", "oncalls")
        earliest = await fetch_all(
            client, f"/oncalls?{twenty}&earliest=true", "oncalls"
        )
        keys = [
            (o["escalation_policy"]["id"], o["escalation_level"], o["user"]["id"])
            for o in earliest
        ]
        assert len(keys) == len(set(keys)) and len(earliest) < len(ranged)
        assert response_violations(sim) == []


async def test_permanent_oncalls_appear_for_any_range() -> None:
    async with sim_client() as (client, sim):
        policy = permanent_policy(sim)
        far = window(NOW + timedelta(days=60), NOW + timedelta(days=61))
        for query in ("", f"&{far}"):
            oncalls = await fetch_all(
                client,
                f"/oncalls?escalation_policy_ids[]={policy['id']}{query}",
                "oncalls",
            )
            permanent = [o for o in oncalls if o["start"] is None]
            assert permanent, query
            for oncall in permanent:
                assert oncall["end"] is None and oncall["schedule"] is None
                assert oncall["escalation_level"] > 1
        assert response_violations(sim) == []


async def test_shifts_are_known_90_days_ahead_only() -> None:
    async with sim_client() as (client, _):
        inside = window(NOW, NOW + timedelta(days=89))
        assert (await client.get(f"/oncalls?{inside}&limit=1")).status_code == 200
        beyond = window(NOW, NOW + timedelta(days=91))
        answer = await client.get(f"/oncalls?{beyond}")
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == 2001
        backwards = window(NOW, NOW - timedelta(hours=1))
        assert (await client.get(f"/oncalls?{backwards}")).status_code == 400


async def test_overrides_take_the_pager_and_the_last_created_wins() -> None:
    async with sim_client(SHORT_SHIFTS) as (client, sim):
        schedule_id = next(iter(sim.store.schedules))
        users = list(sim.store.users)
        first, second = users[0], users[1]

        def override(user_id: str, start: Any, end: Any) -> dict[str, Any]:
            return {
                "start": iso(start.timestamp()),
                "end": iso(end.timestamp()),
                "user": {"id": user_id, "type": "user_reference"},
            }

        created = await client.post(
            f"/schedules/{schedule_id}/overrides",
            json={
                "overrides": [
                    override(first, NOW - timedelta(hours=1), NOW + timedelta(hours=1))
                ]
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()[0]["status"] == 201
        assert created.json()[0]["override"]["user"]["id"] == first
        control = await client.post(
            f"/_sim/schedules/{schedule_id}/overrides",
            json=override(
                second, NOW - timedelta(minutes=10), NOW + timedelta(minutes=10)
            ),
        )
        assert control.status_code == 201
        assert sim.deliverer.log == []  # overrides send no webhook

        def holders(oncalls: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
            return [
                (o["user"]["id"], o["start"], o["end"])
                for o in oncalls
                if o["schedule"] and o["schedule"]["id"] == schedule_id
            ]

        now_holders = holders(await fetch_all(client, "/oncalls", "oncalls"))
        assert {user for user, _, _ in now_holders} == {second}  # last created wins
        around = window(NOW - timedelta(minutes=30), NOW + timedelta(minutes=30))
        periods = holders(await fetch_all(client, f"/oncalls?{around}", "oncalls"))
        assert periods == [
            (first, "2026-03-01T11:00:00Z", "2026-03-01T11:50:00Z"),
            (second, "2026-03-01T11:50:00Z", "2026-03-01T12:10:00Z"),
            (first, "2026-03-01T12:10:00Z", "2026-03-01T13:00:00Z"),
        ]
        listed = await client.get(
            f"/schedules/{schedule_id}/overrides?{window(NOW - timedelta(hours=2), NOW + timedelta(hours=2))}"
        )
        assert listed.status_code == 201  # as the OpenAPI documents it
        assert [o["user"]["id"] for o in listed.json()["overrides"]] == [first, second]
        assert response_violations(sim) == []


def test_shift_length_is_a_flag() -> None:
    config = config_from_args(parse_args(["--shift-minutes", "3"]))
    assert config.shift_minutes == 3
    assert config_from_args(parse_args([])).shift_minutes == 720
