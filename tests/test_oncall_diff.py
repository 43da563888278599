"""raw_memory.py and oncall_diff.py: what a reading of current on-calls changes."""

from typing import Any

from integration import OncallSelector
from oncall_diff import Plan, ShiftBlocks, block_keeps, commit, plan, shift_matches
from raw_memory import RawMemory, hold

SHIFT_BLOCK = 5


def oncall(
    policy: str, user: str, start: str | None, end: str | None, level: int = 1
) -> dict[str, Any]:
    return {
        "escalation_policy": {"id": policy},
        "escalation_level": level,
        "schedule": {"id": f"SCH-{policy}"} if start else None,
        "user": {"id": user, "email": f"{user.lower()}@example.com"},
        "start": start,
        "end": end,
    }


ALICE = oncall("P1", "ALICE", "2030-01-01T08:00:00Z", "2030-01-01T20:00:00Z")
BOB = oncall("P1", "BOB", "2030-01-01T20:00:00Z", "2030-01-02T08:00:00Z")
CAROL = oncall("P2", "CAROL", "2030-01-01T08:00:00Z", "2030-01-02T08:00:00Z")
PERMANENT = oncall("P1", "DAN", None, None, level=2)


def service(sid: str, policy: str, oncalls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": sid,
        "name": sid.lower(),
        "escalation_policy": {"id": policy},
        "__oncall_user": oncalls,
        "__analytics": {"mean_seconds_to_resolve": 42},
    }


def policy(pid: str, oncalls: list[dict[str, Any]] | None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": pid, "name": pid.lower()}
    if oncalls is not None:
        found["__oncall_users"] = oncalls
    return found


def memory_after_resync() -> RawMemory:
    memory = RawMemory()
    p1, p2 = [ALICE, PERMANENT], [CAROL]
    services = [
        service("S1", "P1", p1),
        service("S2", "P1", p1),
        service("S3", "P2", p2),
    ]
    memory.record_block("services", 4, [hold("services", s) for s in services])
    policies = [policy("P1", p1), policy("P2", p2), policy("P3", None)]
    memory.record_block(
        "escalation_policies", 3, [hold("escalation_policies", p) for p in policies]
    )
    shifts = [ALICE, PERMANENT, CAROL]
    memory.record_block("oncalls", SHIFT_BLOCK, [hold("oncalls", s) for s in shifts])
    return memory


def instant(**params: Any) -> ShiftBlocks:
    selector = OncallSelector.parse_obj(
        {"query": "true", "apiQueryParams": {"until": 0, **params}}
    )
    return ShiftBlocks([(SHIFT_BLOCK, selector)])


def names(changes: Plan) -> dict[str, list[str]]:
    return {
        "services": [s["id"] for s in changes.services],
        "policies": [p["id"] for p in changes.policies],
        "in": [o["user"]["id"] for o in changes.shifts_in],
        "out": [o["user"]["id"] for o in changes.shifts_out],
    }


def test_a_handoff_changes_the_policys_services_policy_and_shifts_only() -> None:
    memory = memory_after_resync()
    changes = plan(memory, {"P1": [BOB, PERMANENT]}, instant())

    assert names(changes) == {
        "services": ["S1", "S2"],
        "policies": ["P1"],
        "in": ["BOB"],
        "out": ["ALICE"],
    }
    s1 = changes.services[0]
    # The object as the resync wrote it, only its on-call field patched.
    assert s1 == service("S1", "P1", [BOB, PERMANENT])
    assert changes.policies[0] == policy("P1", [BOB, PERMANENT])
    assert changes.shifts_out == [ALICE]

    commit(memory, changes)
    assert plan(memory, {"P1": [BOB, PERMANENT]}, instant()).is_empty()
    # P2 was not read and is untouched; P3 carries no on-calls, so nothing reads it.
    assert memory.policies() == {"P1", "P2"}
    assert sorted(memory.of("oncalls").blocks[SHIFT_BLOCK]) == sorted(
        memory.of("oncalls").objects
    )
    assert len(memory.of("oncalls").objects) == 3


def test_an_unchanged_reading_writes_nothing() -> None:
    memory = memory_after_resync()
    assert plan(memory, {"P1": [ALICE, PERMANENT], "P2": [CAROL]}, instant()).is_empty()


def test_an_override_that_moves_an_end_rewrites_the_same_shift() -> None:
    memory = memory_after_resync()
    cut = {**ALICE, "end": "2030-01-01T12:00:00Z"}
    changes = plan(memory, {"P1": [cut, PERMANENT]}, instant())
    assert names(changes) == {
        "services": ["S1", "S2"],
        "policies": ["P1"],
        "in": ["ALICE"],
        "out": [],
    }


def test_range_listings_leave_shifts_to_the_resync() -> None:
    memory = memory_after_resync()
    changes = plan(memory, {"P1": [BOB, PERMANENT]}, None)
    assert names(changes)["in"] == [] and names(changes)["out"] == []
    assert names(changes)["services"] == ["S1", "S2"]


def test_a_blocks_api_filters_choose_its_shifts() -> None:
    memory = memory_after_resync()
    only_bob = plan(memory, {"P1": [BOB, PERMANENT]}, instant(user_ids=["BOB"]))
    # DAN (and ALICE) are not the block's any more: they leave it.
    assert names(only_bob)["in"] == ["BOB"]
    assert sorted(names(only_bob)["out"]) == ["ALICE", "DAN"]

    later = oncall("P1", "BOB", "2030-01-02T08:00:00Z", "2030-01-02T20:00:00Z")
    assert block_keeps(instant(earliest=True).blocks[0][1], [later, BOB]) == [BOB]
    other_policy = instant(escalation_policy_ids=["P2"]).blocks[0][1]
    assert block_keeps(other_policy, [BOB, CAROL]) == [CAROL]
    by_schedule = instant(schedule_ids=["SCH-P1"]).blocks[0][1]
    assert [shift_matches(by_schedule, s) for s in (BOB, CAROL, PERMANENT)] == [
        True,
        False,
        False,  # no schedule: a direct user target
    ]


def test_a_live_event_replaces_what_a_handoff_would_write_back() -> None:
    memory = memory_after_resync()
    moved = service("S2", "P2", [CAROL])
    moved["name"] = "renamed"
    memory.record_live("services", 4, [moved], [])
    memory.record_live("services", 4, [], [{"id": "S1"}])

    changes = plan(memory, {"P1": [BOB], "P2": [ALICE]}, None)
    assert [s["id"] for s in changes.services] == ["S2", "S3"]
    assert changes.services[0]["name"] == "renamed"
    assert "S1" not in memory.of("services").objects


def test_listeners_hear_when_each_policys_oncalls_end() -> None:
    memory = RawMemory()
    heard: list[dict[str, set[float]]] = []
    memory.listeners.append(heard.append)
    memory.record_block(
        "oncalls", SHIFT_BLOCK, [hold("oncalls", s) for s in (ALICE, PERMANENT, CAROL)]
    )
    alice_end = 1893528000.0  # 2030-01-01T20:00:00Z
    assert heard[-1]["P1"] == {alice_end}
    assert memory.size_bytes() > 0 and memory.counts() == {"oncalls": 3}
