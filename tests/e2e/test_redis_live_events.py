"""The same webhook processors behind Ocean's Redis live-events stream consumer,
with a real redis-server."""

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import redis

from sandbox.stack import SimSettings, Stack, free_port, sandbox_stack, stop_process
from tests.e2e.test_webhooks import fetches_of, incident_entity, wait_for
from webhook_processors.signing import sign

SECRET = "redis-path-signing-secret"
STREAM_UUID = "4f0c2a4e-redis-e2e"
STREAM_KEY = f"{STREAM_UUID}/live-events/raw/event-stream"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    assert (
        server
    ), "redis-server is required (Debian package redis-server; .ci/run installs it)"
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    wait_for(lambda: _pings(url), timeout=10, what="redis-server")
    yield url
    stop_process(process)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=8, incidents=100, seed=9)) as running:
        app_port = free_port()
        process = running.start_integration(
            "POLLING",
            {
                "APPLICATION__PORT": str(app_port),
                "OCEAN__BASE_URL": f"http://127.0.0.1:{app_port}/live-events/{STREAM_UUID}",
                "OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED": "true",
                "OCEAN__LIVE_EVENTS__REDIS__URL": redis_url,
                "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET": SECRET,
            },
        )
        try:
            wait_for(
                lambda: running.resync_status() == "completed", what="first resync"
            )
            yield running
        finally:
            stop_process(process)


def put_on_stream(url: str, incident_id: str, secret: str) -> None:
    payload = {
        "event": {
            "id": str(uuid4()),
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "data": {"id": incident_id, "type": "incident"},
        }
    }
    raw = json.dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "X-PagerDuty-Signature": f"v1={sign(raw.encode(), secret)}",
        "X-Webhook-Id": str(uuid4()),
    }
    fields: dict[Any, Any] = {
        "eventId": str(uuid4()),
        "webhookPath": "/integration/webhook",
        "payload": raw,
        "headers": json.dumps(headers),
        "queuedAt": datetime.now(UTC).isoformat(),
    }
    redis.Redis.from_url(url).xadd(STREAM_KEY, fields)


def test_event_on_the_stream_is_verified_and_applied_once(
    stack: Stack, redis_url: str
) -> None:
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id = created["incident"]["id"]
    before = fetches_of(stack, "/incidents/{id}")

    put_on_stream(redis_url, incident_id, SECRET)

    wait_for(lambda: incident_entity(stack, incident_id) is not None, what="entity")
    time.sleep(2)
    assert fetches_of(stack, "/incidents/{id}") == before + 1
    pending = redis.Redis.from_url(redis_url).xpending(
        STREAM_KEY, "pagerduty.pagerduty-sandbox"
    )
    assert pending["pending"] == 0


def test_forged_event_on_the_stream_changes_nothing(
    stack: Stack, redis_url: str
) -> None:
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id = created["incident"]["id"]
    before = fetches_of(stack, "/incidents/{id}")

    put_on_stream(redis_url, incident_id, "forged-secret")

    time.sleep(3)
    assert incident_entity(stack, incident_id) is None
    assert fetches_of(stack, "/incidents/{id}") == before
