"""Exporters of how services fit together: business services (with their
dependencies), maintenance windows, change events, priorities.

Maintenance windows and change events carry `__selected_services`: those of
their services that the mapping's services blocks select (relations name only
what the catalog holds; exporters/dependencies.py)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from client import JSON, PagerDutyClient
from exporters.dependencies import (
    attach_selected_services,
    recording_selection,
    with_dependencies,
)
from integration import (
    BusinessServiceSelector,
    ChangeEventSelector,
    MaintenanceWindowSelector,
    ObjectKind,
    PrioritySelector,
)
from pagination import Window

# Reach a little past "now" so change events sent during the resync are listed.
NOW_SLACK = timedelta(minutes=1)


class BusinessServiceExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(
        self, selector: BusinessServiceSelector
    ) -> AsyncIterator[list[JSON]]:
        kind = ObjectKind.BUSINESS_SERVICES
        listed = self.client.paginate("/business_services")
        if selector.include_dependencies:  # exporters/dependencies.py
            pages = with_dependencies(self.client, kind, selector, listed)
        else:
            pages = recording_selection(kind, selector, listed)
        async for business_services in pages:
            yield business_services


class MaintenanceWindowExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(
        self, selector: MaintenanceWindowSelector
    ) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for windows in self.client.paginate("/maintenance_windows", params):
            await attach_selected_services(self.client, windows)
            yield windows


def change_event_id(change_event: JSON) -> object:
    return change_event.get("id")


class ChangeEventExporter:
    """Change events (deploys, config changes) of the last `lookbackDays` days,
    in as many `since`/`until` windows as PagerDuty's 10,000 cap requires; one
    on a window boundary is listed once."""

    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: ChangeEventSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        now = datetime.now(UTC).replace(microsecond=0)
        window = Window(now - timedelta(days=selector.lookback_days), now + NOW_SLACK)
        async for events in self.client.paginate_by_overlap(
            "/change_events", params, window, change_event_id
        ):
            await attach_selected_services(self.client, events)
            yield events


class PriorityExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: PrioritySelector) -> AsyncIterator[list[JSON]]:
        async for priorities in self.client.paginate("/priorities"):
            yield priorities
