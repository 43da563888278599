"""Live updates within PagerDuty's real subscription rules, end to end: real
`ocean sail` processes (POLLING) against the contract-checked simulator, which
returns the signing secret only when creating a subscription, refuses any change
to `delivery_method` and redacts custom header values.

The tests share one simulator and run in order: first start, restart, a second
replica, re-enabling, replays, a second installation, then a token rotation.
"""

import json
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from sandbox.stack import (
    SANDBOX_TOKEN,
    SimSettings,
    Stack,
    free_port,
    pagerduty_headers,
    sandbox_stack,
    stop_process,
)
from tests.e2e.test_webhooks import fetches_of, incident_entity, wait_for

ROTATED_TOKEN = "rotated-sandbox-token-0001"


@dataclass
class Installation:
    stack: Stack
    name: str
    identifier: str = "pagerduty-sandbox"
    token: str = SANDBOX_TOKEN
    app_port: int = field(default_factory=free_port)
    app_host: str = ""
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.app_host = self.app_host or f"http://127.0.0.1:{self.app_port}"

    @property
    def url(self) -> str:
        return f"{self.app_host}/integration/webhook"

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}/integration/webhook"

    def start(self, *, wait_for_self_test: bool = True) -> None:
        self.starts += 1
        self.process = self.stack.start_integration(
            "POLLING",
            {
                "APPLICATION__PORT": str(self.app_port),
                "OCEAN__INTEGRATION__IDENTIFIER": self.identifier,
                "OCEAN__INTEGRATION__CONFIG__TOKEN": self.token,
                "OCEAN__INTEGRATION__CONFIG__APP_HOST": self.app_host,
            },
            log_name=f"{self.name}.log",
        )
        wait_for(
            lambda: self.log_count("PagerDuty webhooks:") >= self.starts,
            timeout=60,
            what=f"{self.name}: the subscription reconciled",
        )
        if wait_for_self_test:
            wait_for(
                lambda: self.log_count("Webhook self-test passed") >= self.starts,
                timeout=60,
                what=f"{self.name}: the ping self-test",
            )
        # Its first resync lists incidents: one created and changed by a test
        # before that listing would be written as the listing finds it.
        wait_for(
            lambda: self.log_count("Resync finished successfully") >= self.starts,
            timeout=150,
            what=f"{self.name}: the first resync",
        )

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)
            self.process = None

    def log(self) -> str:
        path = self.stack.workdir / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_count(self, text: str) -> int:
        return self.log().count(text)


def subscriptions(stack: Stack, token: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{stack.pagerduty.url}/webhook_subscriptions",
        headers=pagerduty_headers(token),
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["webhook_subscriptions"]
    return found


def subscriptions_to(stack: Stack, url: str, token: str) -> list[dict[str, Any]]:
    return [
        s for s in subscriptions(stack, token) if s["delivery_method"]["url"] == url
    ]


def deliver(stack: Stack, event_type: str, resource_id: str, **extra: Any) -> Any:
    body = {"event_type": event_type, "resource_id": resource_id, **extra}
    return stack.pagerduty.post("/_sim/webhooks/deliver", body)


def new_incident(stack: Stack) -> str:
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id: str = created["incident"]["id"]
    return incident_id


def resolve_and_deliver(stack: Stack, **extra: Any) -> tuple[str, Any]:
    incident_id = new_incident(stack)
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"status": "resolved"})
    return incident_id, deliver(stack, "incident.resolved", incident_id, **extra)


def status_of(stack: Stack, incident_id: str) -> str | None:
    entity = incident_entity(stack, incident_id) or {}
    status: str | None = entity.get("properties", {}).get("status")
    return status


def wait_resolved(stack: Stack, incident_id: str) -> None:
    wait_for(
        lambda: status_of(stack, incident_id) == "resolved",
        what=f"incident {incident_id} resolved in Port",
    )


class Capture(BaseHTTPRequestHandler):
    """Stands where an attacker would: records one delivery, answers 200."""

    captured: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Capture.captured.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=10, incidents=150, seed=21)) as running:
        yield running


@pytest.fixture(scope="module")
def first(stack: Stack) -> Iterator[Installation]:
    installation = Installation(stack, "first")
    installation.start()
    yield installation
    installation.stop()


def test_first_start_creates_one_subscription_that_verifies_deliveries(
    stack: Stack, first: Installation
) -> None:
    (subscription,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    assert subscription["delivery_method"]["secret"] is None, "shown only at creation"
    assert "[seal:v2:" in subscription["description"]
    assert first.log_count(f"created webhook subscription {subscription['id']}") == 1
    incident_id, _ = resolve_and_deliver(stack)
    wait_resolved(stack, incident_id)


def test_the_start_freezes_the_start_up_objects(first: Installation) -> None:
    """Full collections skip them, or each one stalls acknowledgements (collector.py)."""
    assert first.log_count("Start-up objects frozen: ") == 1


def test_a_restart_reuses_the_subscription_and_still_verifies(
    stack: Stack, first: Installation
) -> None:
    (before,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    first.stop()
    first.start()
    (after,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    assert after["id"] == before["id"]
    assert first.log_count(
        f"webhook subscription {after['id']} to {first.url} is up to date"
    )
    incident_id, _ = resolve_and_deliver(stack)
    wait_resolved(stack, incident_id)


def test_a_second_replica_that_did_not_create_it_verifies_deliveries(
    stack: Stack, first: Installation
) -> None:
    replica = Installation(stack, "replica", app_host=first.app_host)
    # Behind one appHost the self-test ping reaches the first replica, not this one.
    replica.start(wait_for_self_test=False)
    try:
        assert len(subscriptions_to(stack, first.url, SANDBOX_TOKEN)) == 1
        incident_id, result = resolve_and_deliver(stack, url=replica.local_url)
        assert result["deliveries"][0]["status_code"] == 200
        wait_resolved(stack, incident_id)
    finally:
        replica.stop()


def test_a_temporarily_disabled_subscription_is_re_enabled_at_the_next_start(
    stack: Stack, first: Installation
) -> None:
    (subscription,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    stack.pagerduty.post(
        f"/_sim/webhook_subscriptions/{subscription['id']}/temporarily_disable"
    )
    first.stop()
    first.start()
    (after,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    assert after["id"] == subscription["id"]
    assert after["delivery_method"]["temporarily_disabled"] is False
    assert "deliveries were failing" in first.log()
    incident_id, _ = resolve_and_deliver(stack)
    wait_resolved(stack, incident_id)


def test_a_captured_delivery_replayed_with_a_new_webhook_id_fetches_nothing(
    stack: Stack, first: Installation
) -> None:
    server = HTTPServer(("127.0.0.1", 0), Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        capture_url = f"http://127.0.0.1:{server.server_port}/hook"
        incident_id, _ = resolve_and_deliver(stack, url=capture_url)
    finally:
        server.shutdown()
    raw, headers = Capture.captured[-1]
    event_id = json.loads(raw)["event"]["id"]
    before = fetches_of(stack, "/incidents/{id}")

    httpx.post(first.local_url, content=raw, headers=headers).raise_for_status()
    wait_resolved(stack, incident_id)
    assert fetches_of(stack, "/incidents/{id}") == before + 1

    replay = {**headers, "X-Webhook-Id": str(uuid.uuid4())}
    httpx.post(first.local_url, content=raw, headers=replay).raise_for_status()
    wait_for(
        lambda: first.log_count(f"Ignoring PagerDuty event {event_id}") >= 1,
        what="the replay recognised as already processed",
    )
    assert fetches_of(stack, "/incidents/{id}") == before + 1


@pytest.mark.parametrize(
    "forgery",
    [{"secret": "not-the-secret"}, {"signature": "v1=" + "0" * 64}, {"signature": "x"}],
)
def test_forged_or_unsigned_deliveries_change_nothing(
    stack: Stack, first: Installation, forgery: dict[str, str]
) -> None:
    incident_id = new_incident(stack)
    deliver(stack, "incident.triggered", incident_id)
    wait_for(lambda: status_of(stack, incident_id) == "triggered", what="triggered")
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"status": "resolved"})
    before = fetches_of(stack, "/incidents/{id}")
    webhook_id = f"forged-{uuid.uuid4()}"
    deliver(stack, "incident.resolved", incident_id, webhook_id=webhook_id, **forgery)
    wait_for(
        lambda: first.log_count(f"webhook id '{webhook_id}'") >= 1,
        what="the forged delivery rejected",
    )
    assert status_of(stack, incident_id) == "triggered"
    assert fetches_of(stack, "/incidents/{id}") == before


def test_two_installations_sharing_a_token_reject_each_others_deliveries(
    stack: Stack, first: Installation
) -> None:
    second = Installation(stack, "second", identifier="pagerduty-sandbox-second")
    second.start()
    try:
        (theirs,) = subscriptions_to(stack, second.url, SANDBOX_TOKEN)
        (ours,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
        assert theirs["id"] != ours["id"]
        for target, signer in ((first, theirs), (second, ours)):
            incident_id = new_incident(stack)
            webhook_id = f"cross-{uuid.uuid4()}"
            deliver(
                stack,
                "incident.triggered",
                incident_id,
                url=target.local_url,
                subscription_id=signer["id"],
                webhook_id=webhook_id,
            )
            wait_for(
                partial(rejected, target, webhook_id),
                what=f"{target.name} rejecting a delivery signed for the other",
            )
            assert incident_entity(stack, incident_id) is None
    finally:
        second.stop()
    httpx_delete_subscription(stack, theirs["id"])


def rejected(installation: Installation, webhook_id: str) -> bool:
    return installation.log_count(f"webhook id '{webhook_id}'") >= 1


def httpx_delete_subscription(stack: Stack, subscription_id: str) -> None:
    httpx.delete(
        f"{stack.pagerduty.url}/webhook_subscriptions/{subscription_id}",
        headers=pagerduty_headers(),
    ).raise_for_status()


def test_after_a_token_rotation_the_subscription_is_replaced_create_before_delete(
    stack: Stack, first: Installation
) -> None:
    (old,) = subscriptions_to(stack, first.url, SANDBOX_TOKEN)
    first.stop()
    stack.pagerduty.post("/_sim/config", {"token": ROTATED_TOKEN})
    first.token = ROTATED_TOKEN
    first.start()
    (new,) = subscriptions_to(stack, first.url, ROTATED_TOKEN)
    assert new["id"] != old["id"]
    journal = stack.pagerduty.get("/_sim/requests")["requests"]
    writes = [(r["method"], r["path"]) for r in journal if r["method"] != "GET"]
    created = max(
        i
        for i, write in enumerate(writes)
        if write == ("POST", "/webhook_subscriptions")
    )
    deleted = writes.index(("DELETE", f"/webhook_subscriptions/{old['id']}"))
    assert created < deleted, "created before the old one was deleted"
    assert "replaced 1 webhook subscription(s)" in first.log()
    incident_id, _ = resolve_and_deliver(stack)
    wait_resolved(stack, incident_id)
