"""The shipped default blueprints and mapping fill a consistent catalog."""

import math
from typing import Any

from sandbox.stack import Run, Stack
from tests.e2e.conftest import pagerduty_list

EXPECTED_BLUEPRINTS = {
    "pagerdutyTeam",
    "pagerdutyUser",
    "pagerdutySchedule",
    "pagerdutyEscalationPolicy",
    "pagerdutyService",
    "pagerdutyOncall",
    "pagerdutyIncident",
}


def relation_targets(stack: Stack) -> list[tuple[str, str, str]]:
    """(entity, relation, missing target) for every dangling relation."""
    blueprints = stack.port.get("/_standin/catalog")["blueprints"]
    catalog = stack.catalog()
    dangling = []
    for blueprint, entities in catalog.items():
        relations: dict[str, Any] = blueprints[blueprint].get("relations", {})
        for entity in entities.values():
            for name, value in (entity.get("relations") or {}).items():
                target = relations[name]["target"]
                values = value if isinstance(value, list) else [value]
                for target_id in values:
                    if target_id is not None and target_id not in catalog.get(
                        target, {}
                    ):
                        dangling.append((entity["identifier"], name, str(target_id)))
    return dangling


def test_every_default_blueprint_is_filled_without_schema_mismatches(
    stack: Stack, first_run: Run
) -> None:
    assert first_run.exit_code == 0, first_run.output[-3000:]
    catalog = stack.catalog()
    assert {bp for bp, entities in catalog.items() if entities} >= EXPECTED_BLUEPRINTS
    mismatches = stack.port.get("/_standin/mismatches")
    assert mismatches["count"] == 0, mismatches["mismatches"][:5]
    assert relation_targets(stack) == []


def oncall_identifier(oncall: dict[str, Any]) -> str:
    """The shipped mapping's on-call identifier."""
    parts = [
        oncall["escalation_policy"]["id"],
        str(oncall["escalation_level"]),
        (oncall.get("schedule") or {}).get("id") or "direct",
        oncall["user"]["id"],
        oncall.get("start") or "always",
    ]
    return "-".join(parts)


def test_every_current_shift_is_its_own_entity(stack: Stack, first_run: Run) -> None:
    """The shipped mapping lists the shifts on call now; each lands as its own
    entity (none collapsed into another), permanent on-calls included."""
    oncalls = pagerduty_list(stack, "/oncalls", "oncalls", **{"include[]": "users"})
    identifiers = [oncall_identifier(o) for o in oncalls]
    assert len(set(identifiers)) == len(identifiers), "identifiers collide"
    assert any(o.get("start") is None for o in oncalls), "a permanent on-call"
    assert set(stack.catalog()["pagerdutyOncall"]) == set(identifiers)


def test_users_are_listed_once_per_resync(stack: Stack, first_run: Run) -> None:
    stats = stack.pagerduty.get("/_sim/stats")
    before = stack.api_calls()["by_endpoint"].get("GET /users", 0)
    run = stack.run_once()
    assert run.exit_code == 0
    calls = stack.api_calls()["by_endpoint"]
    assert calls.get("GET /users", 0) - before == math.ceil(stats["users"] / 100)
    assert stats["schedules"] > 1 and stats["teams"] > 1
