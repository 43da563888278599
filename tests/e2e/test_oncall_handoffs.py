"""On-call hand-offs, end to end: a real `ocean sail` (POLLING) against the
simulator with 2-minute shifts, no scheduled resync in the test's time
(`OCEAN__SCHEDULED_RESYNC_INTERVAL` = a day) and `oncallRefreshMinutes: 1`.

At a hand-off the services' on-call, the policies' primary on-call and the
on-call entities follow PagerDuty within 60 s of the shift's end, with one
`/oncalls` request (2 policies, 50 per request) and no other PagerDuty request;
an override created through the simulator's control API (no webhook) shows
within the check period plus 60 s.
"""

import math
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sandbox.stack import (
    SimSettings,
    Stack,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)
from tests.e2e.test_webhooks import wait_for

SHIFT_MINUTES = 2
CHECK_MINUTES = 1
LOG = "handoffs.log"
LISTINGS = ("GET /services", "GET /incidents", "GET /escalation_policies", "GET /users")
RESYNC_READS = {
    *LISTINGS,
    "GET /teams",
    "GET /schedules",
    "POST /analytics/metrics/incidents/services",
}
# Waits for a hand-off (shifts of 2 minutes) and a check period (1 minute).
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    settings = SimSettings(
        services=6,
        incidents=20,
        teams=2,
        users=8,
        seed=5,
        extra_args=["--shift-minutes", str(SHIFT_MINUTES)],
    )
    with sandbox_stack(settings) as running:
        yield running


@pytest.fixture(scope="module")
def integration(stack: Stack) -> Iterator[subprocess.Popen[bytes]]:
    process = stack.start_integration(
        "POLLING",
        {
            "OCEAN__SCHEDULED_RESYNC_INTERVAL": "1440",
            "OCEAN__INTEGRATION__CONFIG__ONCALL_REFRESH_MINUTES": str(CHECK_MINUTES),
        },
        log_name=LOG,
    )
    try:
        wait_for(lambda: stack.resync_status() == "completed", 120, "the first resync")
        listed = re.compile(r"after listing block \d+ \(oncalls\)")
        wait_for(lambda: bool(listed.search(log(stack))), 10, "memory")
        yield process
    finally:
        stop_process(process)


def log(stack: Stack) -> str:
    path = stack.workdir / LOG
    return path.read_text(errors="replace") if path.exists() else ""


def wait_logged(stack: Stack, text: str, deadline: datetime) -> None:
    while text not in log(stack):
        if datetime.now(UTC) > deadline:
            tail = "\n".join(log(stack).splitlines()[-40:])
            raise AssertionError(f"no {text!r} by {iso(deadline)}; log tail:\n{tail}")
        time.sleep(0.2)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pagerduty(stack: Stack, path: str, key: str, **params: Any) -> list[Any]:
    body = httpx.get(
        f"{stack.pagerduty.url}{path}",
        params={"limit": 100, **params},
        headers=pagerduty_headers(),
    ).json()
    found: list[Any] = body[key]
    return found


def oncall_identifier(oncall: dict[str, Any]) -> str:
    """The shipped mapping's on-call identifier."""
    return "-".join(
        [
            oncall["escalation_policy"]["id"],
            str(oncall["escalation_level"]),
            (oncall.get("schedule") or {}).get("id") or "direct",
            oncall["user"]["id"],
            oncall.get("start") or "always",
        ]
    )


def expected(stack: Stack) -> dict[str, Any]:
    """What the catalog must show according to PagerDuty's current on-calls."""
    oncalls = pagerduty(stack, "/oncalls", "oncalls", **{"include[]": "users"})
    services = pagerduty(stack, "/services", "services")
    primary = {
        o["escalation_policy"]["id"]: o["user"]["email"]
        for o in sorted(oncalls, key=lambda o: -o["escalation_level"])
    }
    return {
        "services": {
            s["id"]: primary.get(s["escalation_policy"]["id"]) for s in services
        },
        "policies": primary,
        "oncalls": {oncall_identifier(o) for o in oncalls},
    }


def shown(stack: Stack) -> dict[str, Any]:
    catalog = stack.catalog()
    return {
        "services": {
            i: e["properties"].get("oncall")
            for i, e in catalog.get("pagerdutyService", {}).items()
        },
        "policies": {
            i: e["properties"].get("primaryOncall")
            for i, e in catalog.get("pagerdutyEscalationPolicy", {}).items()
        },
        "oncalls": set(catalog.get("pagerdutyOncall", {})),
    }


def listings(stack: Stack) -> dict[str, int]:
    calls = stack.api_calls()["by_endpoint"]
    return {endpoint: calls.get(endpoint, 0) for endpoint in LISTINGS}


def next_handoff(stack: Stack) -> datetime:
    """The next moment a shift the catalog shows ends. Right at a hand-off every
    shown shift may have ended until the refresh writes the next ones (end +
    margin + a loaded machine): wait for it then."""
    found: list[datetime] = []

    def future_ends() -> bool:
        soon = datetime.now(UTC) + timedelta(seconds=3)
        found[:] = [end for end in shown_ends(stack) if end > soon]
        return bool(found)

    wait_for(future_ends, timeout=90, what="an on-call shift that ends later")
    return min(found)


def shown_ends(stack: Stack) -> list[datetime]:
    return [
        datetime.fromisoformat(e["properties"]["endDate"].replace("Z", "+00:00"))
        for e in stack.catalog().get("pagerdutyOncall", {}).values()
        if e["properties"].get("endDate")
    ]


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def wait_until_shown(stack: Stack, want: dict[str, Any], deadline: datetime) -> float:
    """Seconds until the catalog showed `want` (fails past `deadline`)."""
    while True:
        now = datetime.now(UTC)
        if shown(stack) == want:
            return time.time()
        if now > deadline:
            got = shown(stack)
            diff = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            raise AssertionError(f"catalog still differs at {iso(now)}: {diff}")
        time.sleep(0.5)


def test_a_handoff_reaches_the_catalog_within_a_minute_with_one_request(
    stack: Stack, integration: subprocess.Popen[bytes]
) -> None:
    before = listings(stack)
    handoff = next_handoff(stack)
    sleep_until(handoff - timedelta(seconds=8))
    calls_before = stack.api_calls()["by_endpoint"]
    marker = f"On-call refresh (hand-off at {iso(handoff)})"
    wait_logged(stack, marker, handoff + timedelta(seconds=60))
    calls_after = stack.api_calls()["by_endpoint"]
    spent = {
        endpoint: count - calls_before.get(endpoint, 0)
        for endpoint, count in calls_after.items()
        if count != calls_before.get(endpoint, 0)
    }
    policies = len(pagerduty(stack, "/escalation_policies", "escalation_policies"))
    assert spent.pop("GET /oncalls", 0) == math.ceil(policies / 50), spent
    # Nothing else a resync reads (other time-bounded facts, e.g. maintenance
    # windows, may read their own meanwhile).
    assert not set(spent) & RESYNC_READS, spent

    want = expected(stack)
    shown_at = wait_until_shown(stack, want, handoff + timedelta(seconds=60))
    staleness = shown_at - handoff.timestamp()
    print(f"hand-off at {iso(handoff)} shown after {staleness:.1f} s")
    assert staleness <= 60
    # The hand-off changed something (the shift ended), and no resync ran.
    assert any(iso(handoff) in identifier for identifier in want["oncalls"])
    assert listings(stack) == {
        **before,
        "GET /services": before["GET /services"] + 1,  # expected() above
        "GET /escalation_policies": before["GET /escalation_policies"] + 1,
    }


def test_an_override_without_webhook_shows_within_the_check_period(
    stack: Stack, integration: subprocess.Popen[bytes]
) -> None:
    before = listings(stack)
    oncalls = pagerduty(stack, "/oncalls", "oncalls", **{"include[]": "users"})
    shift = next(o for o in oncalls if o["schedule"] and o["escalation_level"] == 1)
    policy_id, schedule_id = shift["escalation_policy"]["id"], shift["schedule"]["id"]
    users = pagerduty(stack, "/users", "users")
    taker = next(u for u in users if u["id"] != shift["user"]["id"])
    start = datetime.now(UTC).replace(microsecond=0)
    logged_before = len(log(stack))
    created = stack.pagerduty.post(
        f"/_sim/schedules/{schedule_id}/overrides",
        {
            "start": iso(start),
            "end": iso(start + timedelta(minutes=10)),
            "user": {"id": taker["id"]},
        },
    )
    assert created["overrides"], created

    want = expected(stack)
    assert want["policies"][policy_id] == taker["email"]
    deadline = start + timedelta(minutes=CHECK_MINUTES, seconds=60)
    shown_at = wait_until_shown(stack, want, deadline)
    print(f"override shown after {shown_at - start.timestamp():.1f} s")
    # A refresh wrote it: the periodic check, or a hand-off due meanwhile, which
    # re-reads the same on-calls (not a resync: see the listings below).
    written = r"On-call refresh \((periodic check|hand-off at [^)]*)\): .*\(written\)"
    assert re.search(written, log(stack)[logged_before:])
    calls = listings(stack)
    assert calls["GET /incidents"] == before["GET /incidents"]
    # Only this test's own reads of PagerDuty listed services and users.
    assert calls["GET /services"] == before["GET /services"] + 1
    assert calls["GET /users"] == before["GET /users"] + 1
