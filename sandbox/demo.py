"""`make demo`: the integration's whole job against local stand-ins, no accounts.

Starts the PagerDuty simulator and the Port stand-in, runs `ocean sail` once
(ONCE listener, default blueprints and mapping), prints what landed in the
catalog and writes it to a JSON file. Then starts it always-on with the actions
processor, acknowledges an open incident from "Port" (a run of the shipped
Port action, as a Port user whose email is a PagerDuty user) and shows the
write PagerDuty recorded and the catalog entity before and after. Exits
non-zero if anything is missing or the action did not succeed.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from sandbox.bench_core.action_runs import (
    ACTIONS_ENV,
    run_action,
    wait_for_bound_actions,
    wait_until,
)
from sandbox.stack import (
    SimSettings,
    Stack,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)

SAMPLE_ROWS = 5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=Path("demo-catalog.json"))
    return parser.parse_args()


def table(entities: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(entity: dict[str, Any], column: str) -> str:
        value = entity.get(column, entity.get("properties", {}).get(column))
        if value is None:
            value = entity.get("relations", {}).get(column)
        return str(value if value is not None else "")[:40]

    rows = [columns] + [[cell(e, c) for c in columns] for e in entities]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


SAMPLE_COLUMNS = {
    "pagerdutyService": ["identifier", "title", "status", "oncall"],
    "pagerdutyIncident": [
        "identifier",
        "title",
        "status",
        "urgency",
        "pagerdutyService",
    ],
}


def expected_counts(stack: Stack) -> dict[str, int]:
    stats = stack.pagerduty.get("/_sim/stats")
    return {
        "pagerdutyService": stats["services"],
        "pagerdutyIncident": stats["incidents_default_window"],
    }


def report(stack: Stack, seconds: float, exit_code: int) -> tuple[dict[str, Any], bool]:
    catalog = stack.catalog()
    expected = expected_counts(stack)
    landed = {blueprint: len(entities) for blueprint, entities in catalog.items()}
    calls = stack.api_calls()
    complete = all(landed.get(bp, 0) == count for bp, count in expected.items())
    ok = exit_code == 0 and complete and stack.resync_status() == "completed"
    print(f"\nPagerDuty -> Port sandbox run: {'OK' if ok else 'FAILED'}")
    print(f"  run time: {seconds:.1f} s, exit code {exit_code}")
    print(f"  PagerDuty API calls: {calls['total']} {calls['by_endpoint']}")
    for blueprint, count in expected.items():
        print(f"  {blueprint}: {landed.get(blueprint, 0)} landed, {count} expected")
    for blueprint, columns in SAMPLE_COLUMNS.items():
        sample = list(catalog.get(blueprint, {}).values())[:SAMPLE_ROWS]
        print(f"\n{blueprint} (first {len(sample)}):\n{table(sample, columns)}")
    summary = {
        "ok": ok,
        "seconds": round(seconds, 2),
        "exit_code": exit_code,
        "landed": landed,
        "expected": expected,
        "api_calls": calls,
        "mismatches": stack.port.get("/_standin/mismatches")["count"],
        "entities": catalog,
    }
    return summary, ok


def incident_status(stack: Stack, incident_id: str) -> str | None:
    entity = stack.catalog().get("pagerdutyIncident", {}).get(incident_id) or {}
    status = (entity.get("properties") or {}).get("status")
    return str(status) if status else None


def demo_action(stack: Stack) -> tuple[dict[str, Any], bool]:
    """Acknowledge an open incident through the shipped Port action."""
    print("\nActions: starting the integration always-on with the actions processor")
    process = stack.start_integration("POLLING", ACTIONS_ENV)
    try:
        wait_until(lambda: stack.resync_status() == "completed", 300, "the resync")
        wait_for_bound_actions(stack.workdir / "ocean.log")
        incidents = stack.catalog().get("pagerdutyIncident", {}).values()
        incident = next(
            (e for e in incidents if e["properties"].get("status") == "triggered"),
            None,
        ) or stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
        incident_id = str(incident.get("identifier") or incident["incident"]["id"])
        user = httpx.get(
            f"{stack.pagerduty.url}/users",
            params={"limit": "1"},
            headers=pagerduty_headers(),
        ).json()["users"][0]
        before = incident_status(stack, incident_id)
        print(f"  incident {incident_id} in Port before: {before}")
        print(f"  {user['email']} runs 'Acknowledge' (pagerduty_acknowledge_incident)")
        run = run_action(
            stack.port.url,
            "pagerduty_acknowledge_incident",
            {"incidentId": incident_id, "fromEmail": user["email"]},
        )
        after = incident_status(stack, incident_id)
        writes = stack.pagerduty.get("/_sim/writes")["writes"]
    finally:
        stop_process(process)
    write = writes[-1] if writes else {}
    print(f"  run {run.id}: {run.status}; its log: {run.log}")
    print(
        f"  PagerDuty recorded: {write.get('method')} {write.get('path')} "
        f"From: {write.get('actor')} -> {write.get('status')}"
    )
    print(f"  incident {incident_id} in Port after: {after}")
    ok = run.status == "SUCCESS" and after == "acknowledged"
    summary = {
        "ok": ok,
        "run": run.view,
        "pagerduty_write": write,
        "incident": incident_id,
        "before": before,
        "after": after,
    }
    return summary, ok


def main() -> int:
    args = parse_args()
    settings = SimSettings(
        services=args.services, incidents=args.incidents, seed=args.seed
    )
    print(
        f"Starting the sandbox: {args.services} services, {args.incidents} incidents "
        "(over two years; PagerDuty's default window keeps the last month)"
    )
    with sandbox_stack(settings) as stack:
        run = stack.run_once()
        summary, ok = report(stack, run.seconds, run.exit_code)
        if not ok:
            print(run.output[-4000:], file=sys.stderr)
        summary["action"], acted = demo_action(stack)
        ok = ok and acted
    args.output.write_text(json.dumps(summary, indent=2))
    print(f"\nCatalog written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
