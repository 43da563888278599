from collections.abc import AsyncIterator

from client import JSON, PagerDutyClient
from integration import IncidentSelector


class IncidentExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: IncidentSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for incidents in self.client.paginate("/incidents", params):
            yield incidents
