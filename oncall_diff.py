"""What a reading of current on-calls changes in the catalog (pure, no I/O).

Given the on-calls just read per escalation policy and what the catalog was
last given (raw_memory.py), `plan` lists exactly what must be handed to Ocean
again: the services whose `__oncall_user` differs, the policies whose
`__oncall_users` differs, and the on-call shifts that came in (or changed,
e.g. an override moved an `end`) or went out. `commit` records the plan in
the memory once Ocean took it.
"""

from dataclasses import dataclass, field

from client import JSON
from integration import ObjectKind, OncallSelector
from raw_memory import (
    ONCALL_FIELDS,
    SHIFTS,
    Held,
    RawMemory,
    fingerprint,
    hold,
    shift_key,
)

Reading = dict[str, list[JSON]]  # escalation policy id -> its current on-calls


def shift_matches(selector: OncallSelector, shift: JSON) -> bool:
    """Whether the shift passes an `oncalls` block's API-side id filters
    (escalation policies, schedules, users)."""
    query = selector.api_query_params
    return (
        _wanted(query.escalation_policy_ids, shift.get("escalation_policy"))
        and _wanted(query.schedule_ids, shift.get("schedule"))
        and _wanted(query.user_ids, shift.get("user"))
    )


def block_keeps(selector: OncallSelector, shifts: list[JSON]) -> list[JSON]:
    """The shifts an `oncalls` block lists of these (its API-side filters)."""
    kept = [shift for shift in shifts if shift_matches(selector, shift)]
    if not selector.api_query_params.earliest:
        return kept
    earliest: dict[tuple[object, ...], JSON] = {}
    for shift in kept:
        who = (
            (shift.get("escalation_policy") or {}).get("id"),
            shift.get("escalation_level"),
            (shift.get("user") or {}).get("id"),
        )
        best = earliest.get(who)
        if best is None or str(shift.get("start") or "") < str(best.get("start") or ""):
            earliest[who] = shift
    chosen = {id(shift) for shift in earliest.values()}
    return [shift for shift in kept if id(shift) in chosen]


def _wanted(ids: list[str] | None, reference: object) -> bool:
    if not ids:
        return True
    return isinstance(reference, dict) and reference.get("id") in ids


@dataclass
class ShiftBlocks:
    """The `oncalls` blocks a reading maintains: (index, selector) each."""

    blocks: list[tuple[int, OncallSelector]]


@dataclass
class Plan:
    services: list[JSON] = field(default_factory=list)
    policies: list[JSON] = field(default_factory=list)
    shifts_in: list[JSON] = field(default_factory=list)
    shifts_out: list[JSON] = field(default_factory=list)
    # Recorded by `commit`: new fingerprints, and each block's new shift keys.
    marks: list[tuple[str, str, Held]] = field(default_factory=list)
    shift_members: dict[int, tuple[set[str], set[str]]] = field(default_factory=dict)
    new_shifts: dict[str, Held] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.services or self.policies or self.shifts_in or self.shifts_out)

    def summary(self) -> str:
        return (
            f"{len(self.services)} services, {len(self.policies)} escalation policies, "
            f"{len(self.shifts_in)} shifts in, {len(self.shifts_out)} shifts out"
        )


def plan(memory: RawMemory, reading: Reading, shifts: ShiftBlocks | None) -> Plan:
    """What differs between the reading and what the catalog was given.
    `shifts` None: on-call entities are left to the resync."""
    result = Plan()
    for kind, name in ONCALL_FIELDS.items():
        for key, held in memory.of(kind).objects.items():
            if held.fingerprint is None or held.policy_id not in reading:
                continue
            oncalls = reading[held.policy_id]
            mark = fingerprint(oncalls)
            if mark == held.fingerprint:
                continue
            obj = held.thaw()
            obj[name] = oncalls
            target = result.services if kind == ObjectKind.SERVICES else result.policies
            target.append(obj)
            result.marks.append((kind, key, Held(held.body, held.policy_id, mark)))
    if shifts is not None:
        plan_shifts(memory, reading, shifts, result)
    return result


def plan_shifts(
    memory: RawMemory, reading: Reading, shifts: ShiftBlocks, result: Plan
) -> None:
    held = memory.of(SHIFTS)
    old = {k: h for k, h in held.objects.items() if h.policy_id in reading}
    now_listed: dict[str, JSON] = {}
    for index, selector in shifts.blocks:
        keys: set[str] = set()
        for entries in reading.values():
            for shift in block_keeps(selector, entries):
                key = shift_key(shift)
                keys.add(key)
                now_listed[key] = shift
        before = held.blocks.get(index, set()) & set(old)
        result.shift_members[index] = (before, keys)
    for key, shift in now_listed.items():
        if key not in old or old[key].thaw() != shift:
            result.shifts_in.append(shift)
        result.new_shifts[key] = hold(SHIFTS, shift).held
    result.shifts_out = [h.thaw() for k, h in old.items() if k not in now_listed]


def commit(memory: RawMemory, done: Plan) -> None:
    """Record what Ocean was given, so the next reading diffs against it."""
    for kind, key, held in done.marks:
        objects = memory.of(kind).objects
        if key in objects:
            objects[key] = held
    shifts = memory.of(SHIFTS)
    shifts.objects.update(done.new_shifts)
    for index, (before, after) in done.shift_members.items():
        members = shifts.blocks.setdefault(index, set())
        members.difference_update(before)
        members.update(after)
    shifts.forget_orphans()
