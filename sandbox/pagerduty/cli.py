"""``python -m sandbox.pagerduty``: the simulator as its own process.

Prints ``READY <base url>`` (and writes it to ``--ready-file``) once serving.
With ``PAGERDUTY_SIM_VIOLATIONS_DIR`` set, contract violations are also
appended to a JSON-lines file there (see ``violations``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from sandbox.pagerduty.config import (
    CALENDAR_MONTH,
    DEFAULT_DELIVERY_FAILURE_LIMIT,
    DEFAULT_INCIDENT_CREATES_PER_MINUTE,
    DEFAULT_ONCALLS_PER_MINUTE,
    DEFAULT_WINDOWS,
    SimConfig,
)
from sandbox.pagerduty.schedules import DEFAULT_SHIFT_MINUTES
from sandbox.pagerduty.server import start_server
from sandbox.pagerduty.violations import file_from_environment


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local PagerDuty REST API simulator")
    add = parser.add_argument
    add("--host", default="127.0.0.1")
    add("--port", type=int, default=0)
    add("--seed", type=int, default=1)
    add("--services", type=int, default=20)
    add("--incidents", type=int, default=200)
    add("--teams", type=int, default=4)
    add("--users", type=int, default=30)
    add("--shift-minutes", type=float, default=DEFAULT_SHIFT_MINUTES)
    add("--token", default="sandbox-token")
    add("--extra-token", action="append", default=[], help="another accepted token")
    add("--read-only-token", action="append", default=[], help="403 on writes")
    add("--rate-limit-per-minute", type=int, default=960)
    add("--oncalls-rate-limit-per-minute", type=int, default=DEFAULT_ONCALLS_PER_MINUTE)
    add(
        "--incident-create-rate-limit-per-minute",
        type=int,
        default=DEFAULT_INCIDENT_CREATES_PER_MINUTE,
    )
    add("--latency-ms", type=float, default=0.0)
    add("--fault-rate", type=float, default=0.0)
    add("--fail-path", action="append", default=[], metavar="PREFIX[=STATUS]")
    add("--analytics-daily-limit", type=int, default=0)
    add("--incident-default-window", choices=DEFAULT_WINDOWS, default=CALENDAR_MONTH)
    add("--delivery-failure-limit", type=int, default=DEFAULT_DELIVERY_FAILURE_LIMIT)
    add("--no-response-validation", action="store_true")
    add("--ready-file", type=Path, default=None)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    fail_paths = {}
    for item in args.fail_path:
        prefix, _, status = item.partition("=")
        fail_paths[prefix] = int(status or 500)
    return SimConfig(
        seed=args.seed,
        services=args.services,
        incidents=args.incidents,
        teams=args.teams,
        users=args.users,
        shift_minutes=args.shift_minutes,
        token=args.token,
        tokens=list(args.extra_token),
        read_only_tokens=list(args.read_only_token),
        rate_limit_per_minute=args.rate_limit_per_minute,
        oncalls_rate_limit_per_minute=args.oncalls_rate_limit_per_minute,
        incident_create_rate_limit_per_minute=args.incident_create_rate_limit_per_minute,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fail_paths=fail_paths,
        analytics_daily_limit=args.analytics_daily_limit,
        incident_default_window=args.incident_default_window,
        delivery_failure_limit=args.delivery_failure_limit,
        validate_responses=not args.no_response_validation,
    )


def write_atomically(path: Path, text: str) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(text)
    staging.replace(path)


async def run_cli(args: argparse.Namespace) -> None:
    config = config_from_args(args)
    running = await start_server(config, args.host, args.port)
    port = int(running.base_url.rsplit(":", 1)[1])
    running.sim.violations.file = file_from_environment(port)
    if args.ready_file is not None:
        write_atomically(args.ready_file, running.base_url + "\n")
    print(f"READY {running.base_url}", flush=True)
    await running.task


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with suppress(KeyboardInterrupt):
        asyncio.run(run_cli(args))
    sys.stdout.flush()
