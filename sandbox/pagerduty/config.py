"""The simulator's settings; most can change at runtime (``POST /_sim/config``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import httpx

from sandbox.pagerduty.errors import invalid_input
from sandbox.pagerduty.schedules import DEFAULT_SHIFT_MINUTES
from sandbox.pagerduty.store import JsonDict

CALENDAR_MONTH = "calendar_month"
THIRTY_DAYS = "30_days"
DEFAULT_WINDOWS = (CALENDAR_MONTH, THIRTY_DAYS)
# PagerDuty does not publish the sizes of its operation-specific limits; these
# are the simulator's documented defaults (a tenth of a second per /oncalls
# request, two incident creations a second), tighter than the general budget.
DEFAULT_ONCALLS_PER_MINUTE = 600
DEFAULT_INCIDENT_CREATES_PER_MINUTE = 120
DEFAULT_DELIVERY_FAILURE_LIMIT = 3


@dataclass
class SimConfig:
    """Everything that shapes the simulator."""

    seed: int = 1
    services: int = 20
    incidents: int = 200
    teams: int = 4
    users: int = 30
    shift_minutes: float = DEFAULT_SHIFT_MINUTES
    token: str = "sandbox-token"
    tokens: list[str] = field(default_factory=list)
    read_only_tokens: list[str] = field(default_factory=list)
    rate_limit_per_minute: int = 960
    rate_window_seconds: float = 60.0
    oncalls_rate_limit_per_minute: int = DEFAULT_ONCALLS_PER_MINUTE
    incident_create_rate_limit_per_minute: int = DEFAULT_INCIDENT_CREATES_PER_MINUTE
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fail_paths: dict[str, int] = field(default_factory=dict)
    # Path prefix -> how many more requests to it answer 502 (then they heal).
    transient_failures: dict[str, int] = field(default_factory=dict)
    analytics_daily_limit: int = 0
    incident_default_window: str = CALENDAR_MONTH
    delivery_failure_limit: int = DEFAULT_DELIVERY_FAILURE_LIMIT
    validate_responses: bool = True
    violations_file: Path | None = None
    base_url: str = "http://127.0.0.1"
    html_base: str = "https://sandbox.pagerduty.local"
    now: datetime | None = None
    webhook_transport: httpx.AsyncBaseTransport | None = None

    def accepted_tokens(self) -> set[str]:
        return {self.token, *self.tokens} - {""}


RUNTIME_FIELDS = (
    "token",
    "tokens",
    "read_only_tokens",
    "rate_limit_per_minute",
    "rate_window_seconds",
    "oncalls_rate_limit_per_minute",
    "incident_create_rate_limit_per_minute",
    "latency_ms",
    "fault_rate",
    "fail_paths",
    "transient_failures",
    "analytics_daily_limit",
    "incident_default_window",
    "delivery_failure_limit",
    "validate_responses",
)


def runtime_view(config: SimConfig) -> JsonDict:
    return {name: getattr(config, name) for name in (*RUNTIME_FIELDS, "seed")}


def with_changes(config: SimConfig, changes: JsonDict) -> SimConfig:
    """``config`` with runtime ``changes`` applied; 400 on unknown or bad fields."""
    unknown = set(changes) - set(RUNTIME_FIELDS)
    if unknown:
        invalid_input(f"Unknown config fields: {sorted(unknown)}")
    changes = dict(changes)
    if "fail_paths" in changes:
        changes["fail_paths"] = normalize_fail_paths(changes["fail_paths"])
    if "transient_failures" in changes:
        raw = changes["transient_failures"]
        if not isinstance(raw, dict):
            invalid_input("transient_failures must be an object of path: count")
        changes["transient_failures"] = {str(k): int(v) for k, v in raw.items()}
    for name in ("tokens", "read_only_tokens"):
        if name in changes:
            value = changes[name]
            if not isinstance(value, list) or not all(
                isinstance(v, str) for v in value
            ):
                invalid_input(f"{name} must be a list of strings")
    window = changes.get("incident_default_window", config.incident_default_window)
    if window not in DEFAULT_WINDOWS:
        invalid_input(f"incident_default_window must be one of {list(DEFAULT_WINDOWS)}")
    return replace(config, **changes)


def normalize_fail_paths(raw: object) -> dict[str, int]:
    """Accept ``{"/incidents": 500}``, ``["/incidents"]`` or ``[["/x", 503]]``."""
    if isinstance(raw, dict):
        return {str(prefix): int(status) for prefix, status in raw.items()}
    if isinstance(raw, list):
        result: dict[str, int] = {}
        for item in raw:
            if isinstance(item, str):
                result[item] = 500
            else:
                result[str(item[0])] = int(item[1])
        return result
    invalid_input("fail_paths must be an object or a list")
