"""take_oncall with the shipped mapping: the override, then the taker shown on call
in every block that shows on-calls (shifts, services, escalation policies)."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml

import actions.oncall_through
from actions.oncall_through import OverrideSpan, ShiftListings
from actions.write_through import is_gone
from tests.actions.conftest import Actions, harnessed
from tests.conftest import ROOT


@pytest.fixture
async def shipped(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Actions]:
    mapping = yaml.safe_load(
        (ROOT / ".port/resources/port-app-config.yaml").read_text()
    )
    async for actions_ in harnessed(monkeypatch, mapping):
        yield actions_


def level_one_schedule(pd: Actions) -> tuple[str, str, str]:
    """A schedule on level 1 of a policy with a service: (schedule, policy, service)."""
    store = pd.sim.store
    for service in store.sorted_values(store.services):
        policy = store.policies[service["escalation_policy"]["id"]]
        target = policy["escalation_rules"][0]["targets"][0]
        if target["type"] == "schedule_reference":
            return target["id"], policy["id"], service["id"]
    raise AssertionError("no schedule on level 1 of a served policy")


def upserted(pd: Actions, blueprint: str) -> list[dict[str, Any]]:
    return [
        e for e in pd.harness.port_mock.upserted_entities if e["blueprint"] == blueprint
    ]


async def test_the_taker_is_on_call_in_every_block(shipped: Actions) -> None:
    pd = shipped
    schedule_id, policy_id, service_id = level_one_schedule(pd)
    taker = sorted(pd.sim.store.users_by_email)[4]
    reported = await pd.run(
        "take_oncall", scheduleId=schedule_id, userEmail=taker, hours=2
    )
    assert reported.status == "SUCCESS", reported.message
    (write,) = pd.writes()
    assert write["operation"] == "create_overrides" and write["status"] == 201
    assert pd.sim.store.rotations[schedule_id].user_at(pd.sim.store.now()) == (
        pd.sim.store.users_by_email[taker]
    )
    shifts = upserted(pd, "pagerdutyOncall")
    assert any(
        s["properties"]["userEmail"] == taker
        and s["relations"]["pagerdutyEscalationPolicy"] == policy_id
        for s in shifts
    )
    (service,) = [
        s for s in upserted(pd, "pagerdutyService") if s["identifier"] == service_id
    ]
    assert service["properties"]["oncall"] == taker
    (policy,) = [
        p
        for p in upserted(pd, "pagerdutyEscalationPolicy")
        if p["identifier"] == policy_id
    ]
    assert policy["properties"]["primaryOncall"] == taker
    assert f"{taker} has the pager of schedule" in reported.message


async def test_a_shift_the_override_replaced_is_gone_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = [
        {
            "escalation_policy": {"id": "E"},
            "escalation_level": 1,
            "schedule": {"id": "S"},
            "user": {"id": "U1"},
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-01T12:00:00Z",
        },
        {
            "escalation_policy": {"id": "E"},
            "escalation_level": 1,
            "schedule": {"id": "S"},
            "user": {"id": "U2"},
            "start": "2026-01-01T12:00:00Z",
            "end": "2026-01-02T00:00:00Z",
        },
    ]
    after = [
        before[0],
        {**before[1], "user": {"id": "U9"}, "start": "2026-01-01T13:00:00Z"},
    ]

    class Listing(ShiftListings):
        async def listing(self, block: Any) -> list[dict[str, Any]]:
            return after

    shifts = Listing(None, OverrideSpan(["E"], None, None))  # type: ignore[arg-type]
    block: Any = None
    shifts.before = {"variant": before}
    monkeypatch.setattr(actions.oncall_through, "oncall_variant", lambda b: "variant")
    reading = await shifts.read_after(block)
    assert reading is not None
    assert reading.present == after
    assert [s["user"]["id"] for s in reading.gone] == ["U2"]
    assert all(is_gone(s) for s in reading.gone)
