from collections.abc import AsyncIterator

from client import JSON, PagerDutyClient
from exporters.account import oncalls_by_policy
from exporters.dependencies import (
    attach_dependencies,
    dependency_targets,
    recording_selection,
    with_dependencies,
)
from exporters.enrichment import attach_custom_fields, attach_service_analytics
from exporters.maintenance import attach_maintenance_windows
from integration import ObjectKind, ServiceSelector

ONCALL_FIELD = "__oncall_user"


class ServiceExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: ServiceSelector) -> AsyncIterator[list[JSON]]:
        kind = ObjectKind.SERVICES
        if selector.include_dependencies:  # exporters/dependencies.py
            pages = with_dependencies(
                self.client, kind, selector, self.listed(selector)
            )
        else:
            pages = recording_selection(kind, selector, self.listed(selector))
        async for services in pages:
            yield services

    async def listed(self, selector: ServiceSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for services in self.client.paginate("/services", params):
            yield await self.enrich(services, selector)

    async def one(self, service_id: str, selector: ServiceSelector) -> JSON | None:
        """The service as a resync of this selector would have written it."""
        include = selector.api_query_params.include
        params = {"include[]": include} if include else None
        service = await self.client.get_object(
            f"/services/{service_id}", "service", params
        )
        if service is None:
            return None
        (enriched,) = await self.enrich([service], selector)
        if selector.include_dependencies:
            kind = ObjectKind.SERVICES
            targets = await dependency_targets(self.client, kind)
            await attach_dependencies(self.client, kind, [enriched], targets)
        return enriched

    async def enrich(
        self, services: list[JSON], selector: ServiceSelector
    ) -> list[JSON]:
        await self.attach_oncalls(services)
        if selector.service_analytics:
            await attach_service_analytics(
                self.client, services, selector.analytics_months_period
            )
        if selector.include_custom_fields:
            await attach_custom_fields(self.client, services, "services")
        if selector.include_maintenance_windows:
            await attach_maintenance_windows(self.client, services)
        return services

    async def attach_oncalls(self, services: list[JSON]) -> list[JSON]:
        """Adds `__oncall_user`: the service's on-calls, escalation level 1 first."""
        policy_ids = [policy_id(service) for service in services]
        oncalls = await oncalls_by_policy(
            self.client, [pid for pid in policy_ids if pid]
        )
        for service, pid in zip(services, policy_ids, strict=True):
            service[ONCALL_FIELD] = oncalls.get(pid, []) if pid else []
        return services


def policy_id(service: JSON) -> str | None:
    policy = service.get("escalation_policy") or {}
    value = policy.get("id")
    return str(value) if value else None


def matches_selector(service: JSON, selector: ServiceSelector) -> bool:
    """Whether the List Services API with this selector would return the service."""
    wanted_teams = selector.api_query_params.team_ids
    if not wanted_teams:
        return True
    return bool(
        set(wanted_teams) & {team.get("id") for team in service.get("teams") or []}
    )
