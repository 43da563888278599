"""One exporter per PagerDuty kind: each turns a selector into pages of raw objects."""

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

from client import JSON, PagerDutyClient
from exporters.catalog import (
    CustomKindExporter,
    EscalationPolicyExporter,
    OncallExporter,
    ScheduleExporter,
    TeamExporter,
    UserExporter,
)
from exporters.graph import (
    BusinessServiceExporter,
    ChangeEventExporter,
    MaintenanceWindowExporter,
    PriorityExporter,
)
from exporters.incidents import IncidentExporter
from exporters.services import ServiceExporter
from integration import ObjectKind

SelectorT = TypeVar("SelectorT", contravariant=True)


class Exporter(Protocol[SelectorT]):
    """Pages of one kind's raw objects, as its block's selector asks for them."""

    def pages(self, selector: SelectorT) -> AsyncIterator[list[JSON]]: ...


# What builds a kind's exporter from the shared client; mypy checks each entry
# against the protocol (a `pages` that yields pages of JSON objects).
ExporterFactory = Callable[[PagerDutyClient], Exporter[Any]]

EXPORTERS: dict[str, ExporterFactory] = {
    ObjectKind.SERVICES: ServiceExporter,
    ObjectKind.INCIDENTS: IncidentExporter,
    ObjectKind.SCHEDULES: ScheduleExporter,
    ObjectKind.ONCALLS: OncallExporter,
    ObjectKind.ESCALATION_POLICIES: EscalationPolicyExporter,
    ObjectKind.USERS: UserExporter,
    ObjectKind.TEAMS: TeamExporter,
    ObjectKind.BUSINESS_SERVICES: BusinessServiceExporter,
    ObjectKind.MAINTENANCE_WINDOWS: MaintenanceWindowExporter,
    ObjectKind.CHANGE_EVENTS: ChangeEventExporter,
    ObjectKind.PRIORITIES: PriorityExporter,
}


def exporter_for(kind: str, client: PagerDutyClient) -> Exporter[Any]:
    factory = EXPORTERS.get(kind)
    if factory is not None:
        return factory(client)
    return CustomKindExporter(client, kind)
