"""The webhook endpoint of a real always-on `ocean sail` survives junk.

Junk bodies, junk headers, a 5 MB body and a burst of duplicates change nothing
in the catalog and do not stop the process; a genuine signed delivery still
lands afterwards, and no secret shows up in the integration's log.
"""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sandbox.stack import SimSettings, Stack, free_port, sandbox_stack, stop_process
from tests.e2e.test_webhooks import deliver, fetches_of, incident_entity, wait_for

PD_TOKEN = "pd-junk-suite-token-5e1d0b77"
PORT_SECRET = "port-junk-suite-secret-a7c3f0"
WEBHOOK_SECRET = "pd-junk-suite-whsec-deadbeef"
BIG_BODY_BYTES = 5 * 1024 * 1024
DUPLICATES = 200
DUPLICATE_EVENT_ID = "junk-suite-duplicate-event"


class JunkTarget:
    """An always-on integration with distinctive credentials."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.app_port = free_port()
        self.url = f"http://127.0.0.1:{self.app_port}/integration/webhook"
        stack.pagerduty.post("/_sim/config", {"token": PD_TOKEN})
        self.process = stack.start_integration(
            "POLLING",
            {
                "APPLICATION__PORT": str(self.app_port),
                "OCEAN__INTEGRATION__CONFIG__APP_HOST": f"http://127.0.0.1:{self.app_port}",
                "OCEAN__INTEGRATION__CONFIG__TOKEN": PD_TOKEN,
                "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET": WEBHOOK_SECRET,
                "OCEAN__PORT__CLIENT_SECRET": PORT_SECRET,
            },
        )
        wait_for(self.ready, timeout=60, what="subscription and first resync")

    def ready(self) -> bool:
        stats = self.stack.pagerduty.get("/_sim/stats")
        return (
            bool(stats["webhook_subscriptions"])
            and self.stack.resync_status() == "completed"
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return (self.stack.workdir / "ocean.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def target() -> Iterator[JunkTarget]:
    with sandbox_stack(SimSettings(services=10, incidents=240, seed=9)) as stack:
        integration = JunkTarget(stack)
        try:
            yield integration
        finally:
            stop_process(integration.process)


def content(stack: Stack) -> dict[str, Any]:
    return {
        blueprint: {
            identifier: (e.get("title"), e.get("properties"), e.get("relations"))
            for identifier, e in entities.items()
        }
        for blueprint, entities in stack.catalog().items()
    }


def junk_requests(incident_id: str) -> list[tuple[str, bytes, dict[str, str]]]:
    json_type = {"content-type": "application/json"}

    def as_json(body: Any) -> bytes:
        return json.dumps(body).encode()

    triggered = {"event_type": "incident.triggered"}
    return [
        ("not JSON", b"{this is not json", json_type),
        ("empty body", b"", json_type),
        (
            "form body",
            b"a=1&b=2",
            {"content-type": "application/x-www-form-urlencoded"},
        ),
        ("JSON array", as_json([1, "two", {"event": {}}]), json_type),
        ("JSON string", as_json("incident.triggered"), json_type),
        ("JSON null", b"null", json_type),
        ("empty object", as_json({}), json_type),
        ("event not an object", as_json({"event": "incident.triggered"}), json_type),
        ("no event type", as_json({"event": {"data": {"id": incident_id}}}), json_type),
        ("no data", as_json({"event": triggered}), json_type),
        (
            "data a list",
            as_json({"event": {**triggered, "data": [incident_id]}}),
            json_type,
        ),
        (
            "id a number",
            as_json({"event": {**triggered, "data": {"id": 42}}}),
            json_type,
        ),
        (
            "event type a number",
            as_json({"event": {"event_type": 7, "data": {"id": incident_id}}}),
            json_type,
        ),
        (
            "unknown event type",
            as_json(
                {"event": {"event_type": "pagey.ping", "data": {"id": incident_id}}}
            ),
            json_type,
        ),
        (
            "unknown family",
            as_json({"event": {"event_type": "user.created", "data": {"id": "U1"}}}),
            json_type,
        ),
        (
            "nested junk",
            as_json(
                {
                    "event": {
                        **triggered,
                        "data": {
                            "incident": {"incident": [[[{}]]]},
                            "id": {"id": incident_id},
                        },
                    }
                }
            ),
            json_type,
        ),
        (
            "real-looking but unsigned",
            as_json(
                {
                    "event": {
                        **triggered,
                        "data": {"id": incident_id, "type": "incident"},
                    }
                }
            ),
            json_type,
        ),
        (
            "forged signature",
            as_json({"event": {**triggered, "data": {"id": incident_id}}}),
            {**json_type, "x-pagerduty-signature": "v1=" + "ab" * 32},
        ),
        (
            "non-ASCII signature",
            as_json({"event": {**triggered, "data": {"id": incident_id}}}),
            {**json_type, "x-pagerduty-signature": b"v1=\xe9\xff".decode("latin-1")},
        ),
        (
            "junk sealed secret",
            as_json({"event": {**triggered, "data": {"id": incident_id}}}),
            {
                **json_type,
                "x-pagerduty-signature": "v1=00",
                "x-port-ocean-sealed-secret": "!!not-base64!!",
            },
        ),
        (
            "5 MB body",
            as_json({"event": {**triggered, "data": {"id": "P" * BIG_BODY_BYTES}}}),
            json_type,
        ),
    ]


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    # Latin-1, as HTTP carries header bytes: non-ASCII values reach the integration.
    encoded = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    try:
        return httpx.post(url, content=body, headers=encoded, timeout=30).status_code
    except httpx.HTTPError:
        return -1


def test_junk_deliveries_change_nothing_and_the_endpoint_keeps_working(
    target: JunkTarget,
) -> None:
    stack = target.stack
    incident_id = sorted(stack.catalog()["pagerdutyIncident"])[0]
    before = content(stack)
    fetches_before = fetches_of(stack, "/incidents/{id}")

    for label, body, headers in junk_requests(incident_id):
        status = post(target.url, body, headers)
        assert status != -1 and status < 500, f"{label}: answered {status}"
        assert target.alive(), f"the integration died on {label}"

    one_body = json.dumps(
        {"event": {"event_type": "incident.triggered", "data": {"id": incident_id}}}
    ).encode()
    with ThreadPoolExecutor(max_workers=16) as pool:
        unsigned = list(
            pool.map(
                lambda _: post(
                    target.url, one_body, {"content-type": "application/json"}
                ),
                range(DUPLICATES),
            )
        )
        signed = list(
            pool.map(
                lambda _: deliver(
                    stack,
                    "incident.acknowledged",
                    incident_id,
                    event_id=DUPLICATE_EVENT_ID,
                ),
                range(DUPLICATES),
            )
        )
    assert all(0 < status < 500 for status in unsigned)
    assert all(d["deliveries"][0]["status_code"] == 200 for d in signed)

    wait_for(
        lambda: fetches_of(stack, "/incidents/{id}") >= fetches_before + 1,
        what="the first genuine delivery",
    )
    wait_for(
        lambda: target.log().count(f"Ignoring PagerDuty event {DUPLICATE_EVENT_ID}")
        >= DUPLICATES - 1,
        what="every duplicate recognised",
    )
    assert target.alive()
    assert (
        fetches_of(stack, "/incidents/{id}") == fetches_before + 1
    ), "duplicates were fetched again"
    assert content(stack) == before, "junk changed the catalog"

    title = "still listening after the junk"
    stack.pagerduty.post(f"/_sim/incidents/{incident_id}", {"title": title})
    deliver(stack, "incident.annotated", incident_id)
    wait_for(
        lambda: (incident_entity(stack, incident_id) or {}).get("title") == title,
        what="a genuine delivery after the junk",
    )
    assert target.alive()


def test_no_secret_in_the_integration_log(target: JunkTarget) -> None:
    log = target.log()
    assert "Resync" in log or "resync" in log
    for secret in (PD_TOKEN, PORT_SECRET, WEBHOOK_SECRET):
        leaked = [line for line in log.splitlines() if secret in line]
        assert not leaked, leaked[:3]
