"""After `take_oncall`: who is on call changed for every escalation policy that
targets the schedule. Written through to Port, block by block:

- on-call shifts (kind `oncalls`): each block's listing is read, for the
  affected policies only and over the override's span (a minute either side;
  a block with `earliest: true` over its whole range), once before the override
  and once after. Shifts listed after are upserted; shifts listed before but
  not after (a shift the override cut, whose identity starts later now) are
  removed from the block.
- services' `__oncall_user` (kind `services`): the services of those policies,
  each read as its block's resync would read it.
- escalation policies' `__oncall_users` (kind `escalation_policies`): each
  policy read with the block's includes; a block filtered by `user_ids` is left
  to the next resync (which policies PagerDuty lists for a user is not
  something a single policy shows).
"""

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from loguru import logger
from port_ocean.core.handlers.port_app_config.models import ResourceConfig

from actions.write_through import Reading, Written, gone, is_gone, write_through
from client import JSON, PagerDutyClient
from exporters.account import oncalls_by_policy
from exporters.catalog import ONCALL_USERS_FIELD, shift_identity
from exporters.enrichment import CONCURRENT_READS
from exporters.services import ServiceExporter
from exporters.services import matches_selector as service_matches
from integration import (
    EscalationPolicyResourceConfig,
    ObjectKind,
    OncallResourceConfig,
    OncallSelector,
    ServiceResourceConfig,
)
from oncall_diff import shift_matches
from pagination import Window, for_each_bounded, parse_time

MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class OverrideSpan:
    policy_ids: list[str]
    start: datetime
    end: datetime


def ids_of(references: list[JSON] | None) -> list[str]:
    return [str(ref["id"]) for ref in references or [] if ref.get("id")]


async def read_each(
    ids: list[str], read: Callable[[str], Awaitable[JSON | None]]
) -> list[JSON | None]:
    """`read(id)` of each id, a few at a time, in order."""
    found: dict[str, JSON | None] = {}

    async def one(object_id: str) -> None:
        found[object_id] = await read(object_id)

    await for_each_bounded(ids, one, CONCURRENT_READS)
    return [found[i] for i in ids]


# ------------------------------------------------------------------ on-calls
def oncall_selector(block: ResourceConfig) -> OncallSelector:
    return cast(OncallResourceConfig, block).selector


def oncall_variant(block: ResourceConfig) -> Hashable:
    return oncall_selector(block).api_query_params.json(sort_keys=True)


def oncall_belongs(block: ResourceConfig, shift: JSON) -> bool:
    if is_gone(shift) or block.kind != ObjectKind.ONCALLS:
        return False
    return shift_matches(oncall_selector(block), shift)


@dataclass
class ShiftListings:
    """Each on-call block's shifts over the override's span, before and after."""

    client: PagerDutyClient
    span: OverrideSpan
    before: dict[Hashable, list[JSON]] = field(default_factory=dict)

    def request(self, block: ResourceConfig) -> tuple[dict[str, Any], Window] | None:
        query = oncall_selector(block).api_query_params
        params = query.to_request_params()
        whole = Window(parse_time(params.pop("since")), parse_time(params.pop("until")))
        policies = [
            pid
            for pid in self.span.policy_ids
            if not query.escalation_policy_ids or pid in query.escalation_policy_ids
        ]
        if not policies:
            return None
        params["escalation_policy_ids[]"] = policies
        if query.earliest:
            return params, whole
        since = max(whole.since, self.span.start - MARGIN)
        until = min(whole.until, self.span.end + MARGIN)
        return (params, Window(since, until)) if since <= until else None

    async def listing(self, block: ResourceConfig) -> list[JSON] | None:
        request = self.request(block)
        if request is None:
            return None
        params, window = request
        pages = self.client.paginate_by_overlap(
            "/oncalls", params, window, shift_identity
        )
        return [shift async for page in pages for shift in page]

    async def read_before(self, blocks: list[ResourceConfig]) -> None:
        for block in blocks:
            key = oncall_variant(block)
            if key not in self.before:
                self.before[key] = await self.listing(block) or []

    async def read_after(self, block: ResourceConfig) -> Reading | None:
        after = await self.listing(block)
        if after is None:
            return None
        now = {shift_identity(shift) for shift in after}
        ended = [
            gone(shift)
            for shift in self.before.get(oncall_variant(block), [])
            if shift_identity(shift) not in now
        ]
        return Reading(present=after, gone=ended)


# ------------------------------------------------------------------ services
def service_variant(block: ResourceConfig) -> Hashable:
    return cast(ServiceResourceConfig, block).selector.read_variant()


def service_belongs(block: ResourceConfig, service: JSON) -> bool:
    if is_gone(service) or block.kind != ObjectKind.SERVICES:
        return False
    return service_matches(service, cast(ServiceResourceConfig, block).selector)


async def services_through(client: PagerDutyClient, service_ids: list[str]) -> Written:
    exporter = ServiceExporter(client)

    async def read(block: ResourceConfig) -> Reading:
        selector = cast(ServiceResourceConfig, block).selector
        found = await read_each(service_ids, partial(exporter.one, selector=selector))
        reading = Reading()
        for service_id, service in zip(service_ids, found, strict=True):
            if service is None:
                reading.gone.append(gone({"id": service_id}))
            else:
                reading.present.append(service)
        return reading

    return await write_through(
        ObjectKind.SERVICES, read, service_belongs, service_variant
    )


# ------------------------------------------------------------------ policies
def policy_variant(block: ResourceConfig) -> Hashable:
    selector = cast(EscalationPolicyResourceConfig, block).selector
    query = selector.api_query_params
    return (
        tuple(query.include or ()),
        selector.attach_oncall_users,
        bool(query.user_ids),
    )


def policy_belongs(block: ResourceConfig, policy: JSON) -> bool:
    if is_gone(policy) or block.kind != ObjectKind.ESCALATION_POLICIES:
        return False
    teams = cast(
        EscalationPolicyResourceConfig, block
    ).selector.api_query_params.team_ids
    return not teams or bool(set(teams) & set(ids_of(policy.get("teams"))))


async def policies_through(client: PagerDutyClient, policy_ids: list[str]) -> Written:
    async def read(block: ResourceConfig) -> Reading | None:
        selector = cast(EscalationPolicyResourceConfig, block).selector
        if selector.api_query_params.user_ids:
            logger.info(
                "take_oncall: an escalation_policies block filtered by user_ids is "
                "left to the next resync"
            )
            return None
        include = selector.api_query_params.include
        params = {"include[]": include} if include else None
        found = await read_each(
            policy_ids,
            lambda pid: client.get_object(
                f"/escalation_policies/{pid}", "escalation_policy", params
            ),
        )
        present = [policy for policy in found if policy is not None]
        if selector.attach_oncall_users:
            oncalls = await oncalls_by_policy(client, policy_ids)
            for policy in present:
                policy[ONCALL_USERS_FIELD] = oncalls.get(str(policy["id"]), [])
        missing = [
            gone({"id": pid})
            for pid, p in zip(policy_ids, found, strict=True)
            if p is None
        ]
        return Reading(present=present, gone=missing)

    return await write_through(
        ObjectKind.ESCALATION_POLICIES, read, policy_belongs, policy_variant
    )


async def services_of_policies(
    client: PagerDutyClient, policy_ids: list[str]
) -> list[str]:
    found = await read_each(
        policy_ids,
        lambda pid: client.get_object(
            f"/escalation_policies/{pid}", "escalation_policy"
        ),
    )
    services: list[str] = []
    for policy in found:
        for service_id in ids_of((policy or {}).get("services")):
            if service_id not in services:
                services.append(service_id)
    return services
