"""One exporter per PagerDuty kind: each turns a selector into pages of raw objects."""

from collections.abc import AsyncIterator
from typing import Any, Protocol

from client import JSON, PagerDutyClient
from exporters.catalog import (
    CustomKindExporter,
    EscalationPolicyExporter,
    OncallExporter,
    ScheduleExporter,
    TeamExporter,
    UserExporter,
)
from exporters.incidents import IncidentExporter
from exporters.services import ServiceExporter
from integration import ObjectKind


class Exporter(Protocol):
    def pages(self, selector: Any) -> AsyncIterator[list[JSON]]: ...


EXPORTERS: dict[str, type[Any]] = {
    ObjectKind.SERVICES: ServiceExporter,
    ObjectKind.INCIDENTS: IncidentExporter,
    ObjectKind.SCHEDULES: ScheduleExporter,
    ObjectKind.ONCALLS: OncallExporter,
    ObjectKind.ESCALATION_POLICIES: EscalationPolicyExporter,
    ObjectKind.USERS: UserExporter,
    ObjectKind.TEAMS: TeamExporter,
}


def exporter_for(kind: str, client: PagerDutyClient) -> Exporter:
    if kind in EXPORTERS:
        exporter: Exporter = EXPORTERS[kind](client)
        return exporter
    return CustomKindExporter(client, kind)
