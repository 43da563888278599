"""The actions on an existing incident. Each takes `incidentId` and `fromEmail`
(see `incident_base`), checks its own inputs first, and says in its run log
what it changed, or that nothing needed to change."""

from actions.actor import ActorError, unknown_user_message, user_directory
from actions.base import Outcome, PagerDutyRefused
from actions.incident_base import IncidentAction, IncidentRun
from actions.inputs import (
    InvalidInput,
    Properties,
    choice,
    email,
    integer,
    optional_id,
    required_text,
    text,
)

URGENCIES = ("high", "low")
MAX_ESCALATION_LEVEL = 20
MAX_SNOOZE_MINUTES = 7 * 24 * 60  # PagerDuty's maximum: 604,800 seconds


def unchanged(run: IncidentRun, state: str) -> Outcome:
    return Outcome(
        f"Incident {run.label} is already {state}; nothing changed in PagerDuty.",
        changed=False,
    )


def refuse_resolved(run: IncidentRun, what: str) -> None:
    if run.status == "resolved":
        raise PagerDutyRefused(
            f"Incident {run.id} is resolved; PagerDuty cannot {what} a resolved "
            "incident. Trigger a new incident instead.",
            status_label="Incident resolved",
        )


class AcknowledgeIncident(IncidentAction):
    ACTION_NAME = "acknowledge_incident"
    VERB = "acknowledge"

    async def change(self, run: IncidentRun) -> Outcome:
        if run.status in ("acknowledged", "resolved"):
            return unchanged(run, run.status)
        await self.put(run, status="acknowledged")
        return Outcome(f"Acknowledged incident {run.label} as {run.actor.email}.")


class ResolveIncident(IncidentAction):
    ACTION_NAME = "resolve_incident"
    VERB = "resolve"

    def check_inputs(self, properties: Properties) -> None:
        text(properties, "resolution")

    async def change(self, run: IncidentRun) -> Outcome:
        if run.status == "resolved":
            return unchanged(run, "resolved")
        resolution = text(run.properties, "resolution")
        fields = {"status": "resolved"}
        if resolution:
            fields["resolution"] = resolution  # PagerDuty adds it as a note
        await self.put(run, **fields)
        note = " with the resolution as a note" if resolution else ""
        return Outcome(f"Resolved incident {run.label} as {run.actor.email}{note}.")


class ReassignIncident(IncidentAction):
    ACTION_NAME = "reassign_incident"
    VERB = "reassign"

    def check_inputs(self, properties: Properties) -> None:
        assignee = email(properties, "assigneeEmail")
        policy = optional_id(properties, "escalationPolicyId")
        if (assignee is None) == (policy is None):
            got = "both" if assignee else "neither"
            raise InvalidInput(
                "Give exactly one of assigneeEmail (a user) and escalationPolicyId "
                f"(an escalation policy); got {got}."
            )

    async def change(self, run: IncidentRun) -> Outcome:
        refuse_resolved(run, "reassign")
        assignee_email = email(run.properties, "assigneeEmail")
        if assignee_email is None:
            policy_id = optional_id(run.properties, "escalationPolicyId")
            reference = {"id": policy_id, "type": "escalation_policy_reference"}
            await self.put(run, escalation_policy=reference)
            return Outcome(
                f"Reassigned incident {run.label} to escalation policy {policy_id} "
                f"as {run.actor.email}."
            )
        assignee = await user_directory().find(self.client, assignee_email)
        if assignee is None:
            raise ActorError(unknown_user_message(assignee_email, "assigneeEmail"))
        await self.put(run, assignments=[{"assignee": assignee.reference()}])
        return Outcome(
            f"Reassigned incident {run.label} to {assignee.email} as {run.actor.email}."
        )


class EscalateIncident(IncidentAction):
    ACTION_NAME = "escalate_incident"
    VERB = "escalate"

    def check_inputs(self, properties: Properties) -> None:
        integer(properties, "escalationLevel", 1, MAX_ESCALATION_LEVEL)

    async def change(self, run: IncidentRun) -> Outcome:
        refuse_resolved(run, "escalate")
        level = integer(run.properties, "escalationLevel", 1, MAX_ESCALATION_LEVEL)
        await self.put(run, escalation_level=level)
        return Outcome(
            f"Escalated incident {run.label} to level {level} as {run.actor.email}."
        )


class SnoozeIncident(IncidentAction):
    """PagerDuty snoozes acknowledged incidents; whether it takes a triggered one
    is not documented, so a triggered incident is acknowledged first."""

    ACTION_NAME = "snooze_incident"
    VERB = "snooze"

    def check_inputs(self, properties: Properties) -> None:
        integer(properties, "durationMinutes", 1, MAX_SNOOZE_MINUTES)

    async def change(self, run: IncidentRun) -> Outcome:
        refuse_resolved(run, "snooze")
        minutes = integer(run.properties, "durationMinutes", 1, MAX_SNOOZE_MINUTES)
        first = ""
        if run.status == "triggered":
            await self.put(run, status="acknowledged")
            first = " (acknowledged it first: PagerDuty snoozes acknowledged incidents)"
        answer = await self.client.request(
            "POST",
            f"/incidents/{run.id}/snooze",
            json={"duration": minutes * 60},
            headers=run.actor.from_header,
        )
        pending = (answer.get("incident") or {}).get("pending_actions") or []
        until = next(
            (a.get("at") for a in pending if a.get("type") == "unacknowledge"), None
        )
        back = f"; it re-triggers at {until}" if until else ""
        return Outcome(
            f"Snoozed incident {run.label} for {minutes} minutes as "
            f"{run.actor.email}{first}{back}."
        )


class AddIncidentNote(IncidentAction):
    ACTION_NAME = "add_incident_note"
    VERB = "add a note to"

    def check_inputs(self, properties: Properties) -> None:
        required_text(properties, "note")

    async def change(self, run: IncidentRun) -> Outcome:
        content = required_text(run.properties, "note")
        answer = await self.client.request(
            "POST",
            f"/incidents/{run.id}/notes",
            json={"note": {"content": content}},
            headers=run.actor.from_header,
        )
        note_id = (answer.get("note") or {}).get("id")
        return Outcome(
            f"Added note {note_id or ''} to incident {run.label} as {run.actor.email}."
        )


class ChangeIncidentUrgency(IncidentAction):
    ACTION_NAME = "change_incident_urgency"
    VERB = "change the urgency of"

    def check_inputs(self, properties: Properties) -> None:
        choice(properties, "urgency", URGENCIES)

    async def change(self, run: IncidentRun) -> Outcome:
        urgency = choice(run.properties, "urgency", URGENCIES)
        if run.incident.get("urgency") == urgency:
            return unchanged(run, f"{urgency} urgency")
        refuse_resolved(run, "change the urgency of")
        await self.put(run, urgency=urgency)
        return Outcome(
            f"Changed the urgency of incident {run.label} to {urgency} as "
            f"{run.actor.email}."
        )


__all__ = [
    "AcknowledgeIncident",
    "AddIncidentNote",
    "ChangeIncidentUrgency",
    "EscalateIncident",
    "ReassignIncident",
    "ResolveIncident",
    "SnoozeIncident",
]
