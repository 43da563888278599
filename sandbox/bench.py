"""`make bench`: how fast and how lean is the integration, and how close to the floors?

Scenarios (`--scenarios`, comma-separated; each in `sandbox/bench_core/`):

- `full`: a full resync (`ocean sail`, ONCE, every incident) against the rate
  floor and Ocean core's own floor (`full_resync.py`): wall time, peak PSS,
  CPU, API calls;
- `memory`: the same at more account sizes (`--memory-incidents`), for peak
  PSS against the floor as the account grows (the `full` size is included);
- `storm`: an incident storm of signed, late, shuffled, duplicated webhook
  deliveries at an always-on integration (`storm.py`);
- `steady`: an always-on installation's PagerDuty requests and CPU per hour
  (`steady.py`);
- `actions`: a burst of Port action runs under a tight PagerDuty budget
  (`actions_burst.py`).

Prints one report and writes everything to `--output` (JSON).
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sandbox.bench_core.actions_burst import run_burst
from sandbox.bench_core.full_resync import bench_mapping, run_full
from sandbox.bench_core.measure import machine
from sandbox.bench_core.report import memory_row, render
from sandbox.bench_core.steady import run_steady
from sandbox.bench_core.storm import run_storm
from sandbox.stack import SimSettings

__all__ = ["bench_mapping", "main", "parse_args", "render", "run_bench"]

# INFO, Ocean's default, for the full resyncs (both runs, so the floor pays the
# same logging) and the steady state: it shows the progress lines. The storm
# runs at WARNING: at INFO Ocean logs about ten lines per delivery and ships
# them to Port on a thread with a new HTTP client per 100 lines, CPU that the
# storm's acknowledgements compete with (see the README).
DEFAULT_LOG_LEVEL = "INFO"
STORM_LOG_LEVEL = "WARNING"
SCENARIOS = ("full", "memory", "storm", "steady", "actions")
DEFAULT_SCENARIOS = "full,memory,storm,steady,actions"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--rate-limit-per-minute", type=int, default=960)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--teams", type=int, default=SimSettings.teams)
    parser.add_argument("--users", type=int, default=SimSettings.users)
    parser.add_argument(
        "--log-level",
        default=DEFAULT_LOG_LEVEL,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="APPLICATION__LOG_LEVEL of the full and memory runs",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="per run, seconds")
    parser.add_argument("--output", type=Path, default=Path("bench-results/bench.json"))
    parser.add_argument(
        "--scenarios",
        default=DEFAULT_SCENARIOS,
        help=f"comma-separated, of {', '.join(SCENARIOS)} (default %(default)s)",
    )
    parser.add_argument(
        "--memory-incidents",
        default="25000,100000",
        help="memory: the other incident counts (the full size is added)",
    )
    parser.add_argument("--skip-core", action="store_true", help="no core-floor run")
    storm = parser.add_argument_group("storm")
    storm.add_argument("--storm-incidents", type=int, default=1000)
    storm.add_argument("--storm-deliveries", type=int, default=5000)
    storm.add_argument("--storm-seconds", type=float, default=60)
    storm.add_argument("--storm-log-level", default=STORM_LOG_LEVEL)
    storm.add_argument(
        "--storm-workers",
        default="1,4",
        help="OCEAN__EVENT_WORKERS_COUNT of the storm's integration, one storm per "
        "value (comma-separated; Ocean's default is 1)",
    )
    steady = parser.add_argument_group("steady")
    steady.add_argument(
        "--steady-idle-seconds",
        type=float,
        default=300,
        help="at least one on-call check period (oncallRefreshMinutes, 5)",
    )
    steady.add_argument("--steady-changes", type=int, default=30)
    steady.add_argument("--steady-change-seconds", type=float, default=90)
    steady.add_argument("--steady-log-level", default="INFO")
    return parser.parse_args(argv)


def scenarios_of(args: argparse.Namespace) -> list[str]:
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {SCENARIOS}")
    return chosen


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    chosen = scenarios_of(args)
    result: dict[str, Any] = {
        "settings": {**vars(args), "output": str(args.output)},
        "machine": machine(),
        "scenarios": chosen,
    }
    checks: list[bool] = []
    if "full" in chosen or "memory" in chosen:
        full = run_full(args, args.services, args.incidents)
        result.update(full)
        checks.append(full["ok"])
    if "memory" in chosen:
        rows = [memory_row(full)]
        for count in [int(c) for c in args.memory_incidents.split(",") if c]:
            print(f"Memory: {args.services} services, {count} incidents ...")
            other = run_full(args, args.services, count)
            rows.append(memory_row(other))
            checks.append(other["ok"])
        result["memory"] = sorted(rows, key=lambda row: row["incidents"])
    if "storm" in chosen:
        result["storm"] = []
        for workers in [int(w) for w in str(args.storm_workers).split(",") if w]:
            print(f"Storm ({workers} event worker(s)): incidents, changes, deliveries")
            storm = run_storm(
                seed=args.seed,
                incidents=args.storm_incidents,
                deliveries=args.storm_deliveries,
                seconds=args.storm_seconds,
                latency_ms=args.latency_ms,
                rate_limit_per_minute=args.rate_limit_per_minute,
                overrides={
                    "OCEAN__EVENT_WORKERS_COUNT": str(workers),
                    "APPLICATION__LOG_LEVEL": args.storm_log_level,
                },
            )
            result["storm"].append(storm)
    if "steady" in chosen:
        print("Steady state: always-on with the default mapping ...")
        result["steady"] = run_steady(
            services=args.services,
            incidents=args.incidents,
            seed=args.seed,
            latency_ms=args.latency_ms,
            rate_limit_per_minute=args.rate_limit_per_minute,
            idle_seconds=args.steady_idle_seconds,
            changes=args.steady_changes,
            change_seconds=args.steady_change_seconds,
            log_level=args.steady_log_level,
        )
    if "actions" in chosen:
        print("Actions: a burst of acknowledge_incident runs ...", flush=True)
        burst = run_burst(seed=args.seed)
        result["actions_burst"] = burst
        checks.append(burst["succeeded"] == burst["runs"])
    # The storm's targets are reported, not enforced: `ok` says every run completed.
    result["ok"] = all(checks)
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run_bench(args)
    print(render(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nResults written to {args.output} ({result['bench_seconds']:.0f} s)")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
