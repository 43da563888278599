"""Service dependencies: the services each selected (business) service depends on.

PagerDuty has no bulk listing: one `GET /service_dependencies/technical_services/
{id}` per service and one `GET /service_dependencies/business_services/{id}` per
business service, each answering that service's immediate relationships in both
directions. Only the services a block selects are read (its API filters and its
JQ `query`), at most `CONCURRENT_READS` at a time, through the one client (so
the shared rate budget paces them).

Relations may only point at what the catalog holds: `__dependencies` lists the
supporting services that a block of the integration's mapping selects, and
`__unselected_dependencies` the others (e.g. a service another team's block
leaves out). A block's listing and its dependencies are therefore read in
full before its first page is handed over, in an order where supporting
services come first: no relation ever points at an entity Port does not have
yet, so no placeholder is created even for a moment.

What each block selects is kept per process, per selector (kind, API
parameters, query), from its latest complete listing: a live event or another
kind's block reuses it, and lists a block only when no listing of it is known.
"""

import heapq
import json
from collections.abc import AsyncIterator, Iterable
from functools import lru_cache
from typing import Any

import jq
from port_ocean.context.event import event
from port_ocean.core.handlers.port_app_config.models import ResourceConfig, Selector
from port_ocean.core.utils.json_compat import compile_jq, make_json_compatible
from port_ocean.exceptions.context import EventContextNotFoundError

from client import (
    JSON,
    PagerDutyClient,
    PagerDutyError,
    PagerDutyForbiddenError,
    PagerDutyNotFoundError,
)
from integration import ApiQueryParams, ObjectKind
from pagination import PAGE_SIZE, for_each_bounded

DEPENDENCIES_FIELD = "__dependencies"
UNSELECTED_FIELD = "__unselected_dependencies"
CONCURRENT_READS = 8
TECHNICAL = "technical_service_reference"
BUSINESS = "business_service_reference"
# The kind whose entities a supporting service's reference type names.
KIND_OF_REFERENCE: dict[str, str] = {
    TECHNICAL: ObjectKind.SERVICES,
    "service_reference": ObjectKind.SERVICES,
    BUSINESS: ObjectKind.BUSINESS_SERVICES,
}
ENDPOINTS: dict[str, tuple[str, str]] = {
    ObjectKind.SERVICES: ("technical_services", "/services"),
    ObjectKind.BUSINESS_SERVICES: ("business_services", "/business_services"),
}
# The kinds whose selections a kind's dependencies may point at.
TARGET_KINDS: dict[str, tuple[str, ...]] = {
    ObjectKind.SERVICES: (ObjectKind.SERVICES,),
    ObjectKind.BUSINESS_SERVICES: (ObjectKind.SERVICES, ObjectKind.BUSINESS_SERVICES),
}

Targets = dict[str, set[str]]  # kind -> the ids its blocks select


# ------------------------------------------------------------ selection
@lru_cache(maxsize=64)
def _program(query: str) -> Any:
    """Plain jq: a query only Ocean's dialect accepts (single quotes) fails here,
    and `selects` then keeps the object (a read more, never a relation less)."""
    return jq.compile(query)


def query_reads_dependencies(query: str) -> bool:
    return DEPENDENCIES_FIELD in query or UNSELECTED_FIELD in query


def selects(query: str, obj: JSON) -> bool:
    """Whether Ocean will keep `obj` for a block with this `selector.query`. A
    query that fails, or reads the dependencies themselves, keeps it (Ocean and
    the mapping guard report a broken query)."""
    if query.strip() == "true" or query_reads_dependencies(query):
        return True
    try:
        value = compile_jq(_program(query), make_json_compatible(obj)).first()
    except Exception:  # noqa: BLE001 - jq raises ValueError on runtime errors
        return True
    return value is True


def selector_key(kind: str, selector: Selector) -> str:
    params = getattr(selector, "api_query_params", None)
    wire = params.to_request_params() if isinstance(params, ApiQueryParams) else {}
    return json.dumps([kind, wire, selector.query], sort_keys=True, default=str)


# selector_key -> the ids its latest complete listing selected
_selections: dict[str, frozenset[str]] = {}


def record_selection(kind: str, selector: Selector, ids: Iterable[str]) -> None:
    _selections[selector_key(kind, selector)] = frozenset(ids)


def forget_selections() -> None:
    _selections.clear()


def mapping_blocks(kind: str) -> list[ResourceConfig] | None:
    """The current event's blocks of `kind` (None outside an event)."""
    try:
        config = event.port_app_config
    except (EventContextNotFoundError, ValueError):  # no event, or no config in it
        return None
    if config is None:
        return None
    return [block for block in config.resources if block.kind == kind]


async def list_selection(
    client: PagerDutyClient, kind: str, selector: Selector
) -> frozenset[str]:
    """A block's selection read afresh: its listing, its query on each object."""
    params = getattr(selector, "api_query_params", None)
    wire = params.to_request_params() if isinstance(params, ApiQueryParams) else {}
    ids = [
        str(obj["id"])
        async for page in client.paginate(ENDPOINTS[kind][1], wire)
        for obj in page
        if obj.get("id") and selects(selector.query, obj)
    ]
    record_selection(kind, selector, ids)
    return frozenset(ids)


async def selected_ids(client: PagerDutyClient, kind: str) -> set[str]:
    """The ids the mapping's blocks of `kind` select (none: no such block)."""
    blocks = mapping_blocks(kind)
    if blocks is None:  # no mapping at hand: every selection known of the kind
        prefix = json.dumps([kind])[:-1]
        return set().union(
            *(ids for key, ids in _selections.items() if key.startswith(prefix))
        )
    found: set[str] = set()
    for block in blocks:
        known = _selections.get(selector_key(kind, block.selector))
        if known is None:
            known = await list_selection(client, kind, block.selector)
        found |= known
    return found


async def dependency_targets(client: PagerDutyClient, kind: str) -> Targets:
    return {target: await selected_ids(client, target) for target in TARGET_KINDS[kind]}


# ------------------------------------------------------------ reading
async def read_dependencies(
    client: PagerDutyClient, kind: str, object_id: str
) -> list[JSON]:
    """The services `object_id` depends on (its supporting services), in
    PagerDuty's order, each as `{id, type}`."""
    path = f"/service_dependencies/{ENDPOINTS[kind][0]}/{object_id}"
    try:
        body = await client.get(path)
    except PagerDutyNotFoundError:
        return []  # deleted since it was listed
    except PagerDutyForbiddenError as error:
        raise PagerDutyError(
            f"{error} Service dependencies need read access to services; or set "
            "includeDependencies to false."
        ) from error
    supporting: dict[str, JSON] = {}
    for relationship in body.get("relationships") or []:
        dependent = relationship.get("dependent_service") or {}
        target = relationship.get("supporting_service") or {}
        if str(dependent.get("id")) == object_id and target.get("id"):
            supporting.setdefault(
                str(target["id"]), {"id": str(target["id"]), "type": target.get("type")}
            )
    return list(supporting.values())


def split(supporting: list[JSON], targets: Targets) -> tuple[list[JSON], list[JSON]]:
    """(those a block of the mapping selects, the others)."""
    inside: list[JSON] = []
    outside: list[JSON] = []
    for reference in supporting:
        kind = KIND_OF_REFERENCE.get(str(reference.get("type")))
        selected = kind is not None and reference["id"] in targets.get(kind, set())
        (inside if selected else outside).append(reference)
    return inside, outside


async def attach_dependencies(
    client: PagerDutyClient, kind: str, objects: list[JSON], targets: Targets
) -> None:
    """Reads the dependencies of each object (bounded) and attaches them."""

    async def read(obj: JSON) -> None:
        supporting = await read_dependencies(client, kind, str(obj["id"]))
        obj[DEPENDENCIES_FIELD], obj[UNSELECTED_FIELD] = split(supporting, targets)

    identified = [obj for obj in objects if obj.get("id")]
    await for_each_bounded(identified, read, CONCURRENT_READS)


async def with_dependencies(
    client: PagerDutyClient,
    kind: str,
    selector: Selector,
    pages: AsyncIterator[list[JSON]],
) -> AsyncIterator[list[JSON]]:
    """A block's objects with the dependencies of those it selects (objects its
    query drops get empty lists and cost no request), supporting services
    first, so a relation's target is in Port before the entity that needs it."""
    objects = [obj async for page in pages for obj in page]
    chosen = {
        str(obj["id"])
        for obj in objects
        if obj.get("id") and selects(selector.query, obj)
    }
    record_selection(kind, selector, chosen)
    targets = await dependency_targets(client, kind)
    for obj in objects:
        obj[DEPENDENCIES_FIELD], obj[UNSELECTED_FIELD] = [], []
    wanted = [obj for obj in objects if str(obj.get("id")) in chosen]
    await attach_dependencies(client, kind, wanted, targets)
    ordered = supporting_first(objects)
    for start in range(0, len(ordered), PAGE_SIZE):
        yield ordered[start : start + PAGE_SIZE]


def supporting_first(objects: list[JSON]) -> list[JSON]:
    """`objects` ordered so each comes after the ones it depends on (listing
    order otherwise; a cycle, which PagerDuty should not allow, is kept as is)."""
    position = {str(obj.get("id")): index for index, obj in enumerate(objects)}
    waits_for: dict[int, set[int]] = {}
    needed_by: dict[int, list[int]] = {}
    for index, obj in enumerate(objects):
        for reference in obj.get(DEPENDENCIES_FIELD) or []:
            target = position.get(str(reference.get("id")))
            if target is not None and target != index:
                waits_for.setdefault(index, set()).add(target)
                needed_by.setdefault(target, []).append(index)
    ready = [index for index in range(len(objects)) if not waits_for.get(index)]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for dependent in needed_by.get(index, []):
            waits_for[dependent].discard(index)
            if not waits_for[dependent]:
                heapq.heappush(ready, dependent)
    placed = set(order)
    order += [index for index in range(len(objects)) if index not in placed]
    return [objects[index] for index in order]


async def recording_selection(
    kind: str, selector: Selector, pages: AsyncIterator[list[JSON]]
) -> AsyncIterator[list[JSON]]:
    """A block's pages as they come; once complete, what it selected is kept
    (another kind's dependencies may point at it)."""
    chosen: list[str] = []
    async for page in pages:
        chosen += [
            str(obj["id"])
            for obj in page
            if obj.get("id") and selects(selector.query, obj)
        ]
        yield page
    record_selection(kind, selector, chosen)


SELECTED_SERVICES_FIELD = "__selected_services"


async def attach_selected_services(
    client: PagerDutyClient, objects: list[JSON]
) -> None:
    """`__selected_services`: the ids of an object's `services` that a services
    block of the mapping selects (what a relation to them may name)."""
    selected = await selected_ids(client, ObjectKind.SERVICES)
    for obj in objects:
        obj[SELECTED_SERVICES_FIELD] = [
            str(service["id"])
            for service in obj.get("services") or []
            if service.get("id") and str(service["id"]) in selected
        ]
