"""inMaintenance follows PagerDuty's clock, end to end: a real `ocean sail`
(POLLING, shipped defaults, no scheduled resync in the test's time); a window
created through the simulator's control API a minute ahead, lasting 75 s,
turns the service's `inMaintenance` true within 60 s of its start and false
within 60 s of its end, with no resync (no listing of services repeated)."""

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.stack import SimSettings, Stack, sandbox_stack, stop_process
from tests.e2e.test_webhooks import wait_for

LOG = "maintenance.log"
LEAD = timedelta(seconds=60)
LENGTH = timedelta(seconds=75)
LISTINGS = ("GET /services", "GET /business_services", "GET /incidents")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    settings = SimSettings(services=6, incidents=20, teams=2, users=8, seed=5)
    with sandbox_stack(settings) as running:
        yield running


@pytest.fixture(scope="module")
def integration(stack: Stack) -> Iterator[subprocess.Popen[bytes]]:
    process = stack.start_integration(
        "POLLING", {"OCEAN__SCHEDULED_RESYNC_INTERVAL": "1440"}, log_name=LOG
    )
    try:
        wait_for(lambda: stack.resync_status() == "completed", 120, "the first resync")
        yield process
    finally:
        stop_process(process)


def log(stack: Stack) -> str:
    path = stack.workdir / LOG
    return path.read_text(errors="replace") if path.exists() else ""


def windows_listed(stack: Stack) -> int:
    calls: dict[str, int] = stack.api_calls()["by_endpoint"]
    return calls.get("GET /maintenance_windows", 0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_maintenance(stack: Stack, service_id: str) -> bool | None:
    entity = stack.catalog().get("pagerdutyService", {}).get(service_id) or {}
    value = (entity.get("properties") or {}).get("inMaintenance")
    return value if isinstance(value, bool) else None


def wait_until(
    stack: Stack, service_id: str, want: bool, deadline: datetime
) -> datetime:
    while (now := datetime.now(UTC)) <= deadline:
        if in_maintenance(stack, service_id) is want:
            return now
        time.sleep(0.5)
    tail = "\n".join(log(stack).splitlines()[-30:])
    raise AssertionError(
        f"inMaintenance of {service_id} not {want} by {iso(deadline)}:\n{tail}"
    )


def test_in_maintenance_flips_at_a_new_windows_start_and_end_without_resync(
    stack: Stack, integration: subprocess.Popen[bytes]
) -> None:
    services = stack.catalog()["pagerdutyService"]
    service_id = next(
        i for i, e in sorted(services.items()) if not e["properties"]["inMaintenance"]
    )
    before = stack.api_calls()["by_endpoint"]

    start = datetime.now(UTC).replace(microsecond=0) + LEAD
    end = start + LENGTH
    created = stack.pagerduty.post(
        "/_sim/maintenance_windows",
        {
            "start_time": iso(start),
            "end_time": iso(end),
            "service_ids": [service_id],
            "description": "e2e maintenance",
        },
    )
    assert created["maintenance_window"]["services"][0]["id"] == service_id
    # Evidence that the integration has read the new window (its periodic check)
    # before asserting that it did not act on it too early.
    listed = windows_listed(stack)
    deadline = start - timedelta(seconds=5)
    while windows_listed(stack) == listed:
        assert datetime.now(UTC) < deadline, "the window was not read before it began"
        time.sleep(0.5)
    # Not before the window starts ...
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() - 3))
    assert in_maintenance(stack, service_id) is False
    shown = wait_until(stack, service_id, True, start + timedelta(seconds=60))
    late_on = (shown - start).total_seconds()
    # ... and not after it ends.
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds() - 3))
    assert in_maintenance(stack, service_id) is True
    cleared = wait_until(stack, service_id, False, end + timedelta(seconds=60))
    late_off = (cleared - end).total_seconds()
    print(
        f"inMaintenance true {late_on:.1f} s after the start, false {late_off:.1f} s after the end"
    )
    assert late_on <= 60 and late_off <= 60

    after = stack.api_calls()["by_endpoint"]
    spent = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    print(f"PagerDuty requests meanwhile: {spent}")
    assert all(spent.get(listing, 0) == 0 for listing in LISTINGS), spent  # no resync
    assert "Maintenance windows (window start/end" in log(stack)
