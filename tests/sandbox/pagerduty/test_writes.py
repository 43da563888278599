"""Writes the actions use: acknowledge/resolve (with a resolution note), escalate,
reassign, urgency, notes, snooze, overrides; the From actor, read-only keys,
incident_key de-duplication and the ``/_sim/writes`` record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from sandbox.pagerduty import PagerDutySim
from sandbox.pagerduty.incident_changes import create_incident
from sandbox.pagerduty.store import iso
from tests.sandbox.pagerduty.helpers import (
    NOW,
    TOKEN,
    response_violations,
    sim_client,
)


def open_incident(sim: PagerDutySim, status: str = "triggered") -> str:
    incident = create_incident(sim.store, {"status": status})
    return str(incident["id"])


def an_email(sim: PagerDutySim, index: int = 0) -> str:
    return sorted(sim.store.users_by_email)[index]


def user_of(sim: PagerDutySim, email: str) -> str:
    return sim.store.users_by_email[email]


async def put_incident(
    client: httpx.AsyncClient, incident_id: str, email: str | None, **fields: Any
) -> httpx.Response:
    body = {"incident": {"type": "incident_reference", **fields}}
    headers = {"From": email} if email else {}
    return await client.put(f"/incidents/{incident_id}", json=body, headers=headers)


def no_violations(sim: PagerDutySim) -> None:
    assert [v.describe() for v in sim.violations.items] == []
    assert response_violations(sim) == []


async def test_acknowledge_records_the_from_user_as_actor() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        email = an_email(sim, 3)
        answer = await put_incident(client, incident_id, email, status="acknowledged")
        assert answer.status_code == 200, answer.text
        incident = answer.json()["incident"]
        actor = user_of(sim, email)
        assert incident["status"] == "acknowledged"
        assert incident["acknowledgements"][0]["acknowledger"]["id"] == actor
        assert incident["last_status_change_by"]["id"] == actor
        writes = (await client.get("/_sim/writes")).json()["writes"]
        assert writes[-1]["operation"] == "update"
        assert (writes[-1]["method"], writes[-1]["path"]) == (
            "PUT",
            f"/incidents/{incident_id}",
        )
        assert writes[-1]["actor"] == email and writes[-1]["status"] == 200
        assert writes[-1]["body"]["incident"]["status"] == "acknowledged"
        no_violations(sim)


async def test_resolution_becomes_a_note_by_the_actor() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        email = an_email(sim)
        answer = await put_incident(
            client, incident_id, email, status="resolved", resolution="Restarted it"
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["incident"]["status"] == "resolved"
        notes = (await client.get(f"/incidents/{incident_id}/notes")).json()["notes"]
        assert [n["content"] for n in notes] == ["Restarted it"]
        assert notes[0]["user"]["id"] == user_of(sim, email)
        again = await put_incident(client, incident_id, email, escalation_level=1)
        assert again.status_code == 400
        assert "Already Resolved" in str(again.json()["error"]["errors"])
        no_violations(sim)


async def test_an_acknowledged_incident_keeps_its_assignment() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        email = an_email(sim, 5)
        assignee = user_of(sim, email)
        reassigned = await put_incident(
            client,
            incident_id,
            email,
            assignments=[{"assignee": {"id": assignee, "type": "user_reference"}}],
        )
        assert reassigned.status_code == 200, reassigned.text
        acked = await put_incident(client, incident_id, email, status="acknowledged")
        incident = acked.json()["incident"]
        assert [a["assignee"]["id"] for a in incident["assignments"]] == [assignee]
        assert incident["assigned_via"] == "direct_assignment"
        no_violations(sim)


async def test_escalation_assigns_the_level_oncalls_and_retriggers() -> None:
    async with sim_client() as (client, sim):
        store = sim.store
        policy = next(
            p
            for p in store.sorted_values(store.policies)
            if len(p["escalation_rules"]) > 1
        )
        service = next(
            s
            for s in store.services.values()
            if s["escalation_policy"]["id"] == policy["id"]
        )
        incident = create_incident(
            store, {"service_id": service["id"], "status": "acknowledged"}
        )
        email = an_email(sim)
        answer = await put_incident(client, incident["id"], email, escalation_level=2)
        assert answer.status_code == 200, answer.text
        escalated = answer.json()["incident"]
        assert escalated["status"] == "triggered"
        assert escalated["acknowledgements"] == []
        oncalls = (
            await client.get(
                "/oncalls", params={"escalation_policy_ids[]": policy["id"]}
            )
        ).json()["oncalls"]
        level_two = {o["user"]["id"] for o in oncalls if o["escalation_level"] == 2}
        assert {a["assignee"]["id"] for a in escalated["assignments"]} == level_two
        levels = len(policy["escalation_rules"])
        beyond = await put_incident(
            client, incident["id"], email, escalation_level=levels + 1
        )
        assert beyond.status_code == 400
        no_violations(sim)


async def test_reassign_to_another_escalation_policy() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim, "acknowledged")
        current = sim.store.incidents[incident_id]["escalation_policy"]["id"]
        other = next(p for p in sim.store.policies if p != current)
        answer = await put_incident(
            client,
            incident_id,
            an_email(sim),
            escalation_policy={"id": other, "type": "escalation_policy_reference"},
        )
        assert answer.status_code == 200, answer.text
        incident = answer.json()["incident"]
        assert incident["escalation_policy"]["id"] == other
        assert incident["status"] == "triggered"
        unknown = await put_incident(
            client,
            incident_id,
            an_email(sim),
            escalation_policy={"id": "PNOPE00", "type": "escalation_policy_reference"},
        )
        assert unknown.status_code == 400
        no_violations(sim)


async def test_urgency_and_unknown_incident() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        answer = await put_incident(client, incident_id, an_email(sim), urgency="low")
        assert answer.json()["incident"]["urgency"] == "low"
        missing = await put_incident(client, "PNOPE00", an_email(sim), urgency="low")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == 2100
        no_violations(sim)


async def test_notes_need_from_and_are_listed() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        body = {"note": {"content": "Looking into it"}}
        refused = await client.post(f"/incidents/{incident_id}/notes", json=body)
        assert refused.status_code == 400
        assert sim.violations.items[-1].field == "From"
        sim.violations.reset()
        email = an_email(sim, 2)
        created = await client.post(
            f"/incidents/{incident_id}/notes", json=body, headers={"From": email}
        )
        assert created.status_code == 200, created.text
        note = created.json()["note"]
        assert note["content"] == "Looking into it"
        assert note["user"]["id"] == user_of(sim, email)
        listed = (await client.get(f"/incidents/{incident_id}/notes")).json()
        assert listed["notes"] == [note]
        no_violations(sim)


async def test_snooze_takes_an_acknowledged_incident_only() -> None:
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim)
        email = an_email(sim)
        headers = {"From": email}
        url = f"/incidents/{incident_id}/snooze"
        triggered = await client.post(url, json={"duration": 3600}, headers=headers)
        assert triggered.status_code == 400
        await put_incident(client, incident_id, email, status="acknowledged")
        snoozed = await client.post(url, json={"duration": 3600}, headers=headers)
        assert snoozed.status_code == 201, snoozed.text
        pending = snoozed.json()["incident"]["pending_actions"]
        assert pending == [
            {"type": "unacknowledge", "at": iso((NOW + timedelta(hours=1)).timestamp())}
        ]
        assert [v.describe() for v in sim.violations.items] == [], "all valid so far"
        too_long = await client.post(url, json={"duration": 604801}, headers=headers)
        assert too_long.status_code == 400  # the contract's maximum
        assert [v.field for v in sim.violations.items] == ["duration"]
        sim.violations.reset()  # the one this test provoked


async def test_incident_key_deduplicates_open_incidents() -> None:
    async with sim_client() as (client, sim):
        service = next(iter(sim.store.services.values()))
        email = an_email(sim)
        incident = {
            "type": "incident",
            "title": "Disk full",
            "service": {"id": service["id"], "type": "service_reference"},
            "incident_key": "disk-full-1",
            "urgency": "low",
        }
        headers = {"From": email}
        first = await client.post(
            "/incidents", json={"incident": incident}, headers=headers
        )
        assert first.status_code == 201, first.text
        created = first.json()["incident"]
        assert created["last_status_change_by"]["id"] == user_of(sim, email)
        second = await client.post(
            "/incidents", json={"incident": incident}, headers=headers
        )
        assert second.status_code == 400
        assert "already exists" in str(second.json()["error"]["errors"])
        found = (
            await client.get(
                "/incidents",
                params={"incident_key": "disk-full-1", "date_range": "all"},
            )
        ).json()["incidents"]
        assert [i["id"] for i in found] == [created["id"]]
        no_violations(sim)


async def test_overrides_last_created_wins_and_are_recorded() -> None:
    async with sim_client() as (client, sim):
        schedule_id = next(iter(sim.store.schedules))
        first, second = (user_of(sim, an_email(sim, i)) for i in (1, 2))
        start = NOW.timestamp()

        def override(user_id: str, hours: int) -> dict[str, Any]:
            return {
                "start": iso(start),
                "end": iso(start + hours * 3600),
                "user": {"id": user_id, "type": "user_reference"},
            }

        url = f"/schedules/{schedule_id}/overrides"
        for user_id, hours in ((first, 8), (second, 2)):
            answer = await client.post(
                url, json={"overrides": [override(user_id, hours)]}
            )
            assert answer.status_code == 201, answer.text
            assert answer.json()[0]["override"]["user"]["id"] == user_id
        rotation = sim.store.rotations[schedule_id]
        assert rotation.user_at(start + 3600) == second  # the last created wins
        assert rotation.user_at(start + 5 * 3600) == first
        writes = (await client.get("/_sim/writes")).json()["writes"]
        assert [w["operation"] for w in writes] == ["create_overrides"] * 2
        assert (await client.post("/_sim/writes/reset")).json() == {"cleared": 2}
        no_violations(sim)


async def test_a_read_only_key_cannot_write_and_the_refusal_is_not_a_write() -> None:
    async with sim_client() as (client, sim):
        await client.post("/_sim/config", json={"read_only_tokens": [TOKEN]})
        incident_id = open_incident(sim)
        answer = await put_incident(
            client, incident_id, an_email(sim), status="acknowledged"
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == 2010
        note = await client.post(
            f"/incidents/{incident_id}/notes",
            json={"note": {"content": "x"}},
            headers={"From": an_email(sim)},
        )
        assert note.status_code == 403
        assert sim.store.incidents[incident_id]["status"] == "triggered"
        assert (await client.get("/_sim/writes")).json()["writes"] == []
        no_violations(sim)


async def test_a_resolved_incident_takes_no_further_change() -> None:
    """Undocumented whether PagerDuty's API reopens or changes a resolved incident:
    the simulator holds the stricter reading and refuses every change."""
    async with sim_client() as (client, sim):
        incident_id = open_incident(sim, "resolved")
        email = an_email(sim)
        for fields in (
            {"status": "acknowledged"},
            {"status": "triggered"},
            {"status": "resolved"},
            {"urgency": "low"},
        ):
            answer = await put_incident(client, incident_id, email, **fields)
            assert answer.status_code == 400, fields
            assert answer.json()["error"]["errors"] == ["Incident Already Resolved"]
        assert sim.store.incidents[incident_id]["status"] == "resolved"
