"""Each executor through Ocean's execution manager: PagerDuty gets the right call
as the right user, Port gets the object as each block would write it, and every
failure is one line with the cause and the fix."""

from dataclasses import replace
from typing import Any

from tests.actions.conftest import TOKEN, Actions


async def test_acknowledge_writes_as_the_user_and_through_each_block(
    pd: Actions,
) -> None:
    reported = await pd.run(
        "acknowledge_incident", incidentId=pd.incident_id, fromEmail=pd.email
    )
    assert reported.status == "SUCCESS", reported.message
    (write,) = pd.writes()
    assert (write["operation"], write["actor"], write["status"]) == (
        "update",
        pd.email,
        200,
    )
    assert pd.sim.store.incidents[pd.incident_id]["status"] == "acknowledged"
    # Both blocks still hold it: the incident entity and the open-incident entity.
    assert sorted(pd.upserted()) == [
        ("openIncident", pd.incident_id),
        ("pagerdutyIncident", pd.incident_id),
    ]
    assert pd.deleted() == []
    assert reported.message.startswith(f"Acknowledged incident {pd.incident_id}")


async def test_resolving_removes_it_from_the_open_incidents_block(pd: Actions) -> None:
    reported = await pd.run(
        "resolve_incident", incidentId=pd.incident_id, fromEmail=pd.email
    )
    assert reported.status == "SUCCESS", reported.message
    assert pd.upserted() == [("pagerdutyIncident", pd.incident_id)]
    assert pd.deleted() == [("openIncident", pd.incident_id)]
    assert "removed openIncident/" in reported.message


async def test_nothing_to_change_is_a_success_that_says_so(pd: Actions) -> None:
    await pd.run("resolve_incident", incidentId=pd.incident_id, fromEmail=pd.email)
    writes = len(pd.writes())
    reported = await pd.run(
        "acknowledge_incident", incidentId=pd.incident_id, fromEmail=pd.email
    )
    assert reported.status == "SUCCESS"
    assert "is already resolved; nothing changed in PagerDuty" in reported.message
    assert len(pd.writes()) == writes


async def test_invalid_input_is_refused_before_any_pagerduty_call(pd: Actions) -> None:
    before = pd.api_calls()
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "acknowledge_incident": ({}, "Input incidentId is required"),
        "escalate_incident": (
            {"incidentId": pd.incident_id, "escalationLevel": "two"},
            "Input escalationLevel must be a whole number",
        ),
        "snooze_incident": (
            {"incidentId": pd.incident_id, "durationMinutes": 0},
            "Input durationMinutes is 0; it must be between 1 and 10080",
        ),
        "change_incident_urgency": (
            {"incidentId": pd.incident_id, "urgency": "medium"},
            "Input urgency is 'medium'; it must be high or low",
        ),
        "reassign_incident": (
            {"incidentId": pd.incident_id},
            "Give exactly one of assigneeEmail",
        ),
        "trigger_incident": ({"serviceId": "P1", "title": ""}, "Input title"),
        "take_oncall": ({"scheduleId": "P1", "userEmail": "x@y.z", "hours": 73}, "73"),
        "add_incident_note": ({"incidentId": "../users"}, "not a PagerDuty id"),
    }
    for action_type, (properties, expected) in cases.items():
        reported = await pd.run(action_type, fromEmail=pd.email, **properties)
        assert reported.status == "FAILURE", action_type
        assert expected in reported.message, (action_type, reported.message)
        assert reported.completed[0]["status_label"] == "Invalid input"
    assert pd.api_calls() == before


async def test_who_acts(pd: Actions) -> None:
    nobody = await pd.run("acknowledge_incident", incidentId=pd.incident_id)
    assert nobody.status == "FAILURE"
    assert "no fromEmail and the integration has no actionsFromEmail" in nobody.message
    assert pd.api_calls() == 0
    stranger = await pd.run(
        "acknowledge_incident", incidentId=pd.incident_id, fromEmail="a@b.test"
    )
    assert stranger.status == "FAILURE"
    assert "fromEmail 'a@b.test' is not a PagerDuty user" in stranger.message
    upper = await pd.run(
        "add_incident_note",
        incidentId=pd.incident_id,
        note="x",
        fromEmail=pd.email.upper(),
    )
    assert upper.status == "SUCCESS", upper.message
    assert pd.writes()[-1]["actor"] == pd.email  # sent as PagerDuty spells it


async def test_a_read_only_key_fails_with_the_scope_it_needs(pd: Actions) -> None:
    pd.sim.reconfigure(replace(pd.sim.config, read_only_tokens=[TOKEN]))
    reported = await pd.run(
        "acknowledge_incident", incidentId=pd.incident_id, fromEmail=pd.email
    )
    assert reported.status == "FAILURE"
    assert reported.message == (
        f"PagerDuty refused to acknowledge incident {pd.incident_id} (403 Forbidden): "
        "the integration's PagerDuty token may not write: use a full-access REST API "
        "key, or an OAuth token with the incidents.write scope, as its token setting "
        "(a read-only key can only sync)."
    )
    assert TOKEN not in str(reported.completed)
    oncall = await pd.run(
        "take_oncall",
        scheduleId=next(iter(pd.sim.store.schedules)),
        userEmail=pd.email,
    )
    assert "schedules.write scope" in oncall.message


async def test_unknown_incident(pd: Actions) -> None:
    reported = await pd.run(
        "acknowledge_incident", incidentId="PNOSUCH", fromEmail=pd.email
    )
    assert reported.status == "FAILURE"
    assert reported.message.startswith(
        "PagerDuty has no incident PNOSUCH: check incidentId"
    )
    assert reported.completed[0]["status_label"] == "Not found"


async def test_reassign_escalate_urgency_and_snooze(pd: Actions) -> None:
    store = pd.sim.store
    assignee = sorted(store.users_by_email)[3]
    reported = await pd.run(
        "reassign_incident",
        incidentId=pd.incident_id,
        assigneeEmail=assignee,
        fromEmail=pd.email,
    )
    assert reported.status == "SUCCESS", reported.message
    assignments = store.incidents[pd.incident_id]["assignments"]
    assert [a["assignee"]["id"] for a in assignments] == [
        store.users_by_email[assignee]
    ]
    unknown = await pd.run(
        "reassign_incident",
        incidentId=pd.incident_id,
        assigneeEmail="nobody@x.test",
        fromEmail=pd.email,
    )
    assert "assigneeEmail 'nobody@x.test' is not a PagerDuty user" in unknown.message
    escalated = await pd.run(
        "escalate_incident",
        incidentId=pd.incident_id,
        escalationLevel="1",
        fromEmail=pd.email,
    )
    assert escalated.status == "SUCCESS", escalated.message
    too_far = await pd.run(
        "escalate_incident",
        incidentId=pd.incident_id,
        escalationLevel=20,
        fromEmail=pd.email,
    )
    assert too_far.status == "FAILURE"
    assert "escalation_level must be between 1 and" in too_far.message
    same = store.incidents[pd.incident_id]["urgency"]
    unchanged = await pd.run(
        "change_incident_urgency",
        incidentId=pd.incident_id,
        urgency=same,
        fromEmail=pd.email,
    )
    assert "nothing changed" in unchanged.message
    snoozed = await pd.run(
        "snooze_incident",
        incidentId=pd.incident_id,
        durationMinutes=90,
        fromEmail=pd.email,
    )
    assert snoozed.status == "SUCCESS", snoozed.message
    assert [w["path"].rsplit("/", 1)[-1] for w in pd.writes()[-2:]] == [
        pd.incident_id,
        "snooze",
    ]
    assert pd.writes()[-1]["body"] == {"duration": 5400}


async def test_trigger_reports_the_new_incident_and_a_deduplicated_key(
    pd: Actions,
) -> None:
    service_id = next(iter(pd.sim.store.services))
    properties = {
        "serviceId": service_id,
        "title": "Queue backing up",
        "incidentKey": "queue-1",
        "details": {"depth": 12000},
        "fromEmail": pd.email,
    }
    reported = await pd.run("trigger_incident", **properties)
    assert reported.status == "SUCCESS", reported.message
    new_id = reported.message.split()[2]
    assert new_id in pd.sim.store.incidents
    assert ("pagerdutyIncident", new_id) in pd.upserted()
    assert pd.sim.writes.notes[new_id][0]["content"] == '{\n  "depth": 12000\n}'
    again = await pd.run("trigger_incident", **properties)
    assert again.status == "SUCCESS", again.message
    assert f"de-duplicated incidentKey 'queue-1': incident {new_id}" in again.message
    missing = await pd.run(
        "trigger_incident", serviceId="PNOSUCH", title="x", fromEmail=pd.email
    )
    assert missing.status == "FAILURE"
    assert "check serviceId" in missing.message
