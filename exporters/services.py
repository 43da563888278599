from collections.abc import AsyncIterator

from client import JSON, PagerDutyClient
from integration import ServiceSelector

ONCALL_FIELD = "__oncall_user"


class ServiceExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: ServiceSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for services in self.client.paginate("/services", params):
            yield await self.attach_oncalls(services)

    async def attach_oncalls(self, services: list[JSON]) -> list[JSON]:
        """Adds `__oncall_user`: the service's on-calls, escalation level 1 first."""
        policy_ids = [policy_id(service) for service in services]
        oncalls = await self.client.oncalls_by_escalation_policy(
            [pid for pid in policy_ids if pid]
        )
        for service, pid in zip(services, policy_ids, strict=True):
            service[ONCALL_FIELD] = oncalls.get(pid, []) if pid else []
        return services


def policy_id(service: JSON) -> str | None:
    policy = service.get("escalation_policy") or {}
    value = policy.get("id")
    return str(value) if value else None
