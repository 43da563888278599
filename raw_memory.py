"""What the catalog was last given, of the objects whose on-calls change with time.

An always-on listener keeps, per kind, the raw objects the last resync (or a
later live event) handed to Ocean: services (`__oncall_user`), escalation
policies (`__oncall_users`) and the on-call shifts of blocks that list the
shifts on call now. A hand-off then patches only the on-call field of the
objects it concerns and hands them to Ocean again, with nothing else re-read.

Memory: each object is kept as its JSON bytes without the on-call field (a
few hundred bytes to ~2 KB each: about 1 KB per service on the simulator),
plus a 16-byte fingerprint of the on-call list it carries. The lists are not
kept: a hand-off reads them anew. On the large account (2,000 services, 667
policies, 1,334 current shifts) that is about 4-5 MB; `RawMemory.size_bytes`
says it exactly and is logged after each resync.
"""

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from port_ocean.context.event import event
from port_ocean.context.ocean import ocean
from port_ocean.context.resource import resource
from port_ocean.core.handlers.port_app_config.models import ResourceConfig, Selector
from port_ocean.core.models import EventListenerType
from port_ocean.exceptions.context import ResourceContextNotFoundError

from client import JSON
from exporters.catalog import ONCALL_USERS_FIELD, shift_identity
from exporters.services import ONCALL_FIELD, policy_id
from integration import ObjectKind
from pagination import parse_time

# The on-call field each kind carries.
ONCALL_FIELDS: dict[str, str] = {
    ObjectKind.SERVICES: ONCALL_FIELD,
    ObjectKind.ESCALATION_POLICIES: ONCALL_USERS_FIELD,
}
SHIFTS = ObjectKind.ONCALLS
TRACKED_KINDS = {*ONCALL_FIELDS, SHIFTS}
# Listeners that never run anything after the first resync keep nothing.
NOT_ALWAYS_ON = {EventListenerType.ONCE, EventListenerType.ACTIONS_ONLY}


def fingerprint(oncalls: Any) -> bytes:
    text = json.dumps(oncalls, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def shift_key(shift: JSON) -> str:
    return json.dumps(shift_identity(shift), default=str)


def shift_policy(shift: JSON) -> str | None:
    value = (shift.get("escalation_policy") or {}).get("id")
    return str(value) if value else None


def is_instant(selector: Selector) -> bool:
    """Whether an `oncalls` block lists the shifts on call now (`until: 0`).

    Duck-typed: Ocean loads integration.py on its own, so the block's selector
    is an instance of another copy of OncallSelector."""
    query = getattr(selector, "api_query_params", None)
    return getattr(query, "since", None) == 0 and getattr(query, "until", None) == 0


@dataclass(slots=True)
class Held:
    body: bytes  # the raw object's JSON, its on-call field left out
    policy_id: str | None
    fingerprint: bytes | None  # of the on-call list it carries; None: no such field

    def thaw(self) -> JSON:
        obj: JSON = json.loads(self.body)
        return obj


def ends_of(oncalls: list[JSON]) -> set[float]:
    """When each on-call of a list ends (permanent ones never do)."""
    found: set[float] = set()
    for oncall in oncalls:
        end = oncall.get("end")
        if isinstance(end, str) and end:
            found.add(parse_time(end).timestamp())
    return found


@dataclass(slots=True)
class Kept:
    """One raw object as kept: its key, what is held, when its on-calls end."""

    key: str
    held: Held
    ends: set[float] | None  # None: it carries no on-calls


def hold(kind: str, obj: JSON) -> Kept:
    if kind == SHIFTS:
        held = Held(json.dumps(obj).encode(), shift_policy(obj), None)
        return Kept(shift_key(obj), held, ends_of([obj]))
    name = ONCALL_FIELDS[kind]
    oncalls = obj.get(name)
    rest = {key: value for key, value in obj.items() if key != name}
    pid = str(obj["id"]) if kind == ObjectKind.ESCALATION_POLICIES else policy_id(obj)
    carried = oncalls if isinstance(oncalls, list) else None
    mark = fingerprint(carried) if name in obj else None
    held = Held(json.dumps(rest).encode(), pid, mark)
    return Kept(str(obj["id"]), held, ends_of(carried) if carried is not None else None)


@dataclass
class KindMemory:
    objects: dict[str, Held] = field(default_factory=dict)
    blocks: dict[int, set[str]] = field(default_factory=dict)

    def replace_block(self, index: int, held: dict[str, Held]) -> None:
        self.blocks[index] = set(held)
        self.objects.update(held)
        self.forget_orphans()

    def put(self, index: int, key: str, held: Held) -> None:
        self.blocks.setdefault(index, set()).add(key)
        self.objects[key] = held

    def drop(self, index: int, key: str) -> None:
        self.blocks.get(index, set()).discard(key)
        self.forget_orphans()

    def forget_orphans(self) -> None:
        kept = set().union(*self.blocks.values()) if self.blocks else set()
        for key in [key for key in self.objects if key not in kept]:
            del self.objects[key]


# Told, after objects are kept, when the on-calls of each policy they carry end.
Listener = Callable[[dict[str, set[float]]], None]


def ends_by_policy(kind: str, kept: list[Kept]) -> dict[str, set[float]]:
    ends: dict[str, set[float]] = {}
    for item in kept:
        if item.ends is None or not item.held.policy_id:
            continue
        if kind == SHIFTS:
            ends.setdefault(item.held.policy_id, set()).update(item.ends)
        else:
            ends[item.held.policy_id] = item.ends
    return ends


@dataclass
class RawMemory:
    kinds: dict[str, KindMemory] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list)

    def of(self, kind: str) -> KindMemory:
        return self.kinds.setdefault(kind, KindMemory())

    def record_block(self, kind: str, index: int, kept: list[Kept]) -> None:
        """What one resync of block `index` listed, in place of the last one."""
        self.of(kind).replace_block(index, {item.key: item.held for item in kept})
        self.tell(ends_by_policy(kind, kept))

    def record_live(
        self, kind: str, index: int, upserted: list[JSON], deleted: list[JSON]
    ) -> None:
        """A live event's outcome for block `index` (so a hand-off never writes
        back an object older than what the live event wrote)."""
        memory = self.of(kind)
        kept = [hold(kind, obj) for obj in upserted]
        for item in kept:
            memory.put(index, item.key, item.held)
        for obj in deleted:
            if obj.get("id"):
                memory.drop(index, str(obj["id"]))
        self.tell(ends_by_policy(kind, kept))

    def tell(self, ends: dict[str, set[float]]) -> None:
        for listener in self.listeners:
            listener(ends)

    def policies(self) -> set[str]:
        """Every escalation policy whose on-calls the catalog shows."""
        found: set[str] = set()
        for kind, memory in self.kinds.items():
            for held in memory.objects.values():
                if held.policy_id and (kind == SHIFTS or held.fingerprint is not None):
                    found.add(held.policy_id)
        return found

    def size_bytes(self) -> int:
        """Bytes held: the JSON bodies, fingerprints, keys and their records."""
        total = 0
        for memory in self.kinds.values():
            for key, held in memory.objects.items():
                total += len(held.body) + len(key) + 16 + 120
        return total

    def counts(self) -> dict[str, int]:
        return {str(kind): len(m.objects) for kind, m in self.kinds.items()}


_memory = RawMemory()


def process_memory() -> RawMemory:
    return _memory


def is_always_on() -> bool:
    return ocean.event_listener_type not in NOT_ALWAYS_ON


def recordable(kind: str, block: ResourceConfig) -> bool:
    if kind not in TRACKED_KINDS or not is_always_on():
        return False
    return kind != SHIFTS or is_instant(block.selector)


async def remembered(
    kind: str, pages: AsyncIterator[list[JSON]]
) -> AsyncIterator[list[JSON]]:
    """The resync's pages of one block, passed through and, once the block is
    listed completely, kept (always-on listeners only)."""
    try:
        block, index = resource.resource_config, resource.index
    except ResourceContextNotFoundError:  # not one of Ocean's resyncs
        block, index = None, -1
    if block is None or not recordable(kind, block):
        async for batch in pages:
            yield batch
        return
    listed: list[Kept] = []
    async for batch in pages:
        listed += [hold(kind, obj) for obj in batch]  # as sent, before Ocean maps it
        yield batch
    _memory.record_block(kind, index, listed)
    logger.info(
        f"On-call hand-offs: holding {_memory.counts()} objects "
        f"({_memory.size_bytes() / 1e6:.1f} MB) after listing block {index} ({kind})"
    )


def block_index(block: ResourceConfig) -> int | None:
    """The index of `block` in the current event's configuration."""
    resources = event.port_app_config.resources
    for index, candidate in enumerate(resources):
        if candidate is block:
            return index
    return resources.index(block) if block in resources else None


def remember_live(
    block: ResourceConfig, upserted: list[JSON], deleted: list[JSON]
) -> None:
    """A live event's result for `block` (see RawMemory.record_live)."""
    if block.kind not in ONCALL_FIELDS or not is_always_on():
        return
    index = block_index(block)
    if index is not None:
        _memory.record_live(block.kind, index, upserted, deleted)
