"""`trigger_incident`: a new incident on a service, as `fromEmail`.

`details` becomes the incident's first note: the `body` that `POST /incidents`
documents cannot be sent as PagerDuty's published schema stands (it requires a
`type` it does not list). With an `incidentKey` PagerDuty de-duplicates: while
an incident with that key is open on the service it refuses a second one; the
run then reports the open incident instead of failing. Runs with the same key
run in order (it is their partition key).
"""

import json
from typing import Any

from actions.actor import PagerDutyUser, acting_user
from actions.base import Outcome, PagerDutyAction, PagerDutyRefused, written_to_port
from actions.incident_base import write_incident_through
from actions.inputs import (
    InvalidInput,
    Properties,
    choice,
    email,
    given,
    pagerduty_id,
    required_text,
    text,
)
from client import JSON, PagerDutyError

URGENCIES = ("high", "low")
DUPLICATE_KEY = "already exists"
OPEN_STATUSES = ["triggered", "acknowledged"]


def details_of(properties: Properties) -> str | None:
    """`details` as note text: text as given, an object as JSON."""
    value = given(properties, "details")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, sort_keys=True)
    raise InvalidInput("Input details must be text or an object.")


class TriggerIncident(PagerDutyAction):
    ACTION_NAME = "trigger_incident"

    def order_key(self, properties: Properties) -> str | None:
        key = given(properties, "incidentKey")
        return f"incident-key:{key}" if key else None

    def describe(self, properties: dict[str, Any]) -> str:
        service = given(properties, "serviceId") or ""
        return f"trigger an incident on service {service}".strip()

    async def run_action(self, properties: dict[str, Any]) -> Outcome:
        service_id = pagerduty_id(properties, "serviceId")
        incident: JSON = {
            "type": "incident",
            "title": required_text(properties, "title"),
            "service": {"id": service_id, "type": "service_reference"},
            "urgency": choice(properties, "urgency", URGENCIES, default="high"),
        }
        key = text(properties, "incidentKey")
        if key:
            incident["incident_key"] = key
        details = details_of(properties)
        actor = await acting_user(self.client, email(properties, "fromEmail"))
        try:
            answer = await self.client.request(
                "POST",
                "/incidents",
                json={"incident": incident},
                headers=actor.from_header,
            )
        except PagerDutyError as error:
            if key and DUPLICATE_KEY in str(error):
                return await self.deduplicated(service_id, key)
            if "400" in str(error):
                raise PagerDutyRefused(
                    f"PagerDuty refused the new incident ({error}): check serviceId "
                    "(a service of this account), title and urgency."
                ) from None
            raise
        created: JSON = answer.get("incident") or {}
        incident_id = str(created.get("id"))
        noted = await self.add_details(incident_id, details, actor)
        port = await written_to_port(write_incident_through(self.client, incident_id))
        return Outcome(
            f"Created incident {incident_id} (#{created.get('incident_number')}) on "
            f"service {service_id}: {created.get('title')!r}, as {actor.email}"
            f"{noted}. Port: {port}"
        )

    async def add_details(
        self, incident_id: str, details: str | None, actor: PagerDutyUser
    ) -> str:
        if not details:
            return ""
        await self.client.request(
            "POST",
            f"/incidents/{incident_id}/notes",
            json={"note": {"content": details}},
            headers=actor.from_header,
        )
        return ", details added as its first note"

    async def deduplicated(self, service_id: str, key: str) -> Outcome:
        params = {
            "incident_key": key,
            "service_ids[]": [service_id],
            "statuses[]": OPEN_STATUSES,
            "date_range": "all",
        }
        answer = await self.client.get("/incidents", params)
        existing: list[JSON] = answer.get("incidents") or []
        if not existing:
            raise PagerDutyRefused(
                f"PagerDuty refused incidentKey {key!r} as a duplicate on service "
                f"{service_id} but lists no open incident with it; run again."
            )
        incident_id = str(existing[0]["id"])
        port = await written_to_port(write_incident_through(self.client, incident_id))
        return Outcome(
            f"PagerDuty de-duplicated incidentKey {key!r}: incident {incident_id} "
            f"(#{existing[0].get('incident_number')}) is already open on service "
            f"{service_id}; nothing new was created. Port: {port}",
            changed=False,
        )
