from collections.abc import AsyncIterator, Sequence
from typing import Any

from client import JSON, PagerDutyClient
from integration import IncidentSelector


class IncidentExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: IncidentSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for incidents in self.client.paginate("/incidents", params):
            yield incidents

    async def one(self, incident_id: str, selector: IncidentSelector) -> JSON | None:
        """The incident as a resync of this selector would have written it."""
        include = selector.api_query_params.include
        params = {"include[]": include} if include else None
        return await self.client.get_object(
            f"/incidents/{incident_id}", "incident", params
        )


def ids_of(references: list[JSON] | None) -> set[str]:
    return {str(ref.get("id")) for ref in references or []}


def matches_selector(incident: JSON, selector: IncidentSelector) -> bool:
    """Whether the List Incidents API with this selector's filters would return it."""
    query = selector.api_query_params
    assignees = ids_of(
        [a.get("assignee") or {} for a in incident.get("assignments") or []]
    )
    checks: list[tuple[Sequence[str] | None, set[Any]]] = [
        (query.statuses, {incident.get("status")}),
        (query.urgencies, {incident.get("urgency")}),
        (query.service_ids, {(incident.get("service") or {}).get("id")}),
        (query.team_ids, ids_of(incident.get("teams"))),
        (query.user_ids, assignees),
        (
            [query.incident_key] if query.incident_key else None,
            {incident.get("incident_key")},
        ),
    ]
    return all(not wanted or bool(set(wanted) & actual) for wanted, actual in checks)
