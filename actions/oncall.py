"""`take_oncall`: `userEmail` takes a schedule's pager for `hours` (1-72,
default 4), starting now, with a schedule override (the last override created
wins where overrides overlap). The user is also the actor. Runs on the same
schedule run in order (the schedule id is their partition key).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from actions.actor import acting_user
from actions.base import (
    NotInPagerDuty,
    Outcome,
    PagerDutyAction,
    PagerDutyRefused,
    written_to_port,
)
from actions.inputs import InvalidInput, Properties, email, given, integer, pagerduty_id
from actions.oncall_through import (
    OverrideSpan,
    ShiftListings,
    ids_of,
    oncall_belongs,
    oncall_variant,
    policies_through,
    services_of_policies,
    services_through,
)
from actions.write_through import Written, blocks_of, write_through
from client import JSON
from integration import ObjectKind
from pagination import iso

MAX_HOURS = 72
DEFAULT_HOURS = 4


class TakeOncall(PagerDutyAction):
    ACTION_NAME = "take_oncall"
    WRITE_SCOPE = "schedules.write"

    def order_key(self, properties: Properties) -> str | None:
        schedule_id = given(properties, "scheduleId")
        return f"schedule:{schedule_id}" if schedule_id else None

    def describe(self, properties: dict[str, Any]) -> str:
        schedule = given(properties, "scheduleId") or ""
        return f"take the pager of schedule {schedule}".strip()

    async def run_action(self, properties: dict[str, Any]) -> Outcome:
        schedule_id = pagerduty_id(properties, "scheduleId")
        user_email = email(properties, "userEmail")
        if user_email is None:
            raise InvalidInput("Input userEmail is required and was empty; fill it in.")
        hours = integer(properties, "hours", 1, MAX_HOURS, default=DEFAULT_HOURS)
        user = await acting_user(self.client, user_email, source="userEmail")
        schedule = await self.client.get_object(f"/schedules/{schedule_id}", "schedule")
        if schedule is None:
            raise NotInPagerDuty(
                f"PagerDuty has no schedule {schedule_id}: check scheduleId (run the "
                "action on a schedule that exists in PagerDuty)."
            )
        start = datetime.now(UTC).replace(microsecond=0)
        span = OverrideSpan(
            ids_of(schedule.get("escalation_policies")),
            start,
            start + timedelta(hours=hours),
        )
        shifts = ShiftListings(self.client, span)
        await shifts.read_before(await blocks_of(ObjectKind.ONCALLS))
        override = await self.create_override(schedule_id, span, user.reference())
        port = await written_to_port(self.write_through(shifts))
        return Outcome(
            f"{user.email} has the pager of schedule {schedule.get('name')!r} "
            f"({schedule_id}) from {iso(span.start)} to {iso(span.end)} ({hours} h, "
            f"override {override.get('id')}). Port: {port}"
        )

    async def create_override(
        self, schedule_id: str, span: OverrideSpan, user: JSON
    ) -> JSON:
        body = {
            "overrides": [
                {"start": iso(span.start), "end": iso(span.end), "user": user}
            ]
        }
        # PagerDuty answers a list: one {status, override, errors?} per override.
        answer: Any = await self.client.request(
            "POST", f"/schedules/{schedule_id}/overrides", json=body
        )
        results = answer if isinstance(answer, list) else [answer]
        created = results[0] if results else {}
        if (
            not isinstance(created, dict)
            or created.get("errors")
            or not created.get("override")
        ):
            errors = created.get("errors") if isinstance(created, dict) else None
            raise PagerDutyRefused(
                f"PagerDuty did not create the override on schedule {schedule_id} "
                f"({'; '.join(map(str, errors or [])) or 'no override returned'})."
            )
        override: JSON = created["override"]
        return override

    async def write_through(self, shifts: ShiftListings) -> Written:
        policy_ids = shifts.span.policy_ids
        written = await write_through(
            ObjectKind.ONCALLS,
            shifts.read_after,
            oncall_belongs,
            oncall_variant,
        )
        services = await services_of_policies(self.client, policy_ids)
        for part in (
            await services_through(self.client, services),
            await policies_through(self.client, policy_ids),
        ):
            written.upserted += part.upserted
            written.removed += part.removed
        return written
