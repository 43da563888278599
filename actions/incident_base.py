"""What the actions on one existing incident share: its inputs, reading it,
writing to it as the acting user, and writing it through to Port.

Runs on the same incident run one at a time, in order: the incident id is the
run's partition key.
"""

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, cast

from port_ocean.core.handlers.port_app_config.models import ResourceConfig

from actions.actor import PagerDutyUser, acting_user
from actions.base import NotInPagerDuty, Outcome, PagerDutyAction, written_to_port
from actions.inputs import Properties, email, given, pagerduty_id
from actions.write_through import Reading, Written, gone, is_gone, write_through
from client import JSON, PagerDutyClient
from exporters.incidents import IncidentExporter, matches_selector
from integration import IncidentResourceConfig, ObjectKind


@dataclass(frozen=True)
class IncidentRun:
    """A run's incident, as PagerDuty has it now, and who acts on it."""

    incident: JSON
    actor: PagerDutyUser
    properties: Properties

    @property
    def id(self) -> str:
        return str(self.incident["id"])

    @property
    def status(self) -> str:
        return str(self.incident.get("status"))

    @property
    def label(self) -> str:
        number = self.incident.get("incident_number")
        title = self.incident.get("title") or ""
        return f"{self.id}" + (f" (#{number} {title})" if number else "")


def incident_variant(block: ResourceConfig) -> tuple[Any, ...]:
    return cast(IncidentResourceConfig, block).selector.read_variant()


def incident_belongs(block: ResourceConfig, incident: JSON) -> bool:
    if is_gone(incident) or block.kind != ObjectKind.INCIDENTS:
        return False
    return matches_selector(incident, cast(IncidentResourceConfig, block).selector)


async def write_incident_through(client: PagerDutyClient, incident_id: str) -> Written:
    """The incident re-read per block (that block's includes and enrichment) and
    written to Port, or removed from the blocks whose filters it left."""
    exporter = IncidentExporter(client)

    async def read(block: ResourceConfig) -> Reading:
        selector = cast(IncidentResourceConfig, block).selector
        found = await exporter.one(incident_id, selector)
        if found is None:
            return Reading(gone=[gone({"id": incident_id})])
        return Reading(present=[found])

    return await write_through(
        ObjectKind.INCIDENTS, read, incident_belongs, incident_variant
    )


class IncidentAction(PagerDutyAction):
    """An action on one existing incident (`incidentId`), as `fromEmail`."""

    VERB = "change"

    def order_key(self, properties: Properties) -> str | None:
        incident_id = given(properties, "incidentId")
        return f"incident:{incident_id}" if incident_id else None

    def describe(self, properties: dict[str, Any]) -> str:
        return f"{self.VERB} incident {given(properties, 'incidentId') or ''}".strip()

    def check_inputs(self, properties: Properties) -> None:
        """Refuse wrong action-specific inputs (before any PagerDuty call)."""

    async def run_action(self, properties: dict[str, Any]) -> Outcome:
        incident_id = pagerduty_id(properties, "incidentId")
        from_email = email(properties, "fromEmail")
        self.check_inputs(properties)
        actor = await acting_user(self.client, from_email)
        incident = await self.client.get_object(f"/incidents/{incident_id}", "incident")
        if incident is None:
            raise NotInPagerDuty(
                f"PagerDuty has no incident {incident_id}: check incidentId (run the "
                "action on an incident that exists in PagerDuty; a stale Port entity "
                "leaves at the next resync)."
            )
        outcome = await self.change(IncidentRun(incident, actor, properties))
        port = await written_to_port(write_incident_through(self.client, incident_id))
        return Outcome(f"{outcome.message} Port: {port}", outcome.changed)

    async def put(self, run: IncidentRun, **fields: Any) -> JSON:
        """`PUT /incidents/{id}` as the acting user."""
        body = {"incident": {"type": "incident_reference", **fields}}
        answer = await self.client.request(
            "PUT", f"/incidents/{run.id}", json=body, headers=run.actor.from_header
        )
        return dict(answer.get("incident") or {})

    @abstractmethod
    async def change(self, run: IncidentRun) -> Outcome:
        """Make the change (or say that nothing needs to change)."""
