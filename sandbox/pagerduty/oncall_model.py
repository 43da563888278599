"""Who is on call: escalation policy levels over schedules and direct users.

A level's target is a schedule (its final schedule decides, period by period)
or a user placed directly on the level: a permanent on-call, listed for any
time range with ``start``/``end``/``schedule`` null.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.pagerduty.store import JsonDict, PdStore, iso


def target_user(store: PdStore, target: JsonDict, ts: float) -> str:
    if target["type"] == "schedule_reference":
        return store.rotations[target["id"]].user_at(ts)
    return str(target["id"])


def oncall_user_for_policy(store: PdStore, policy_id: str, ts: float) -> str:
    rule = store.policies[policy_id]["escalation_rules"][0]
    return target_user(store, rule["targets"][0], ts)


def oncall_entries(
    store: PdStore, policies: Iterable[JsonDict], since: float, until: float
) -> list[JsonDict]:
    """Every on-call period overlapping [since, until]: policy, level, target, shift."""
    entries: list[JsonDict] = []
    for policy in policies:
        for level, rule in enumerate(policy["escalation_rules"], start=1):
            for target in rule["targets"]:
                entries.extend(
                    _target_entries(store, policy, level, target, since, until)
                )
    return entries


def _target_entries(
    store: PdStore,
    policy: JsonDict,
    level: int,
    target: JsonDict,
    since: float,
    until: float,
) -> list[JsonDict]:
    base = {
        "escalation_policy": store.ref(policy["id"]),
        "escalation_level": level,
    }
    if target["type"] != "schedule_reference":
        permanent = {"schedule": None, "start": None, "end": None}
        return [{**base, **permanent, "user": store.ref(target["id"])}]
    schedule = store.ref(target["id"])
    return [
        {
            **base,
            "schedule": schedule,
            "user": store.ref(period.user_id),
            "start": iso(period.start),
            "end": iso(period.end),
        }
        for period in store.rotations[target["id"]].periods(since, until)
    ]


def earliest_only(entries: list[JsonDict]) -> list[JsonDict]:
    """Keep the earliest entry per (policy, level, user), in the original order."""
    best: dict[tuple[str, int, str], JsonDict] = {}
    for entry in entries:
        key = (
            entry["escalation_policy"]["id"],
            entry["escalation_level"],
            entry["user"]["id"],
        )
        current = best.get(key)
        if current is None or _start_key(entry) < _start_key(current):
            best[key] = entry
    kept = {id(entry) for entry in best.values()}
    return [entry for entry in entries if id(entry) in kept]


def _start_key(entry: JsonDict) -> str:
    return "" if entry["start"] is None else str(entry["start"])
