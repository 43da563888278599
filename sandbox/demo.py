"""`make demo`: the integration's whole job against local stand-ins, no accounts.

Starts the PagerDuty simulator and the Port stand-in, runs `ocean sail` once
(ONCE listener, default blueprints and mapping), prints what landed in the
catalog and writes it to a JSON file. Exits non-zero if anything is missing.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sandbox.stack import SimSettings, Stack, sandbox_stack

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
    args.output.write_text(json.dumps(summary, indent=2))
    print(f"\nCatalog written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
