"""Webhook deliveries through Ocean's own live-event pipeline (harness-booted)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.entity_processor import jq_entity_processor
from port_ocean.core.handlers.webhook.webhook_event import (
    WebhookEvent,
    WebhookRequestAdapter,
)
from port_ocean.integration_testing import IntegrationTestHarness, InterceptTransport

from mapping_guard import GuardedJQEntityProcessor
from tests.conftest import ROOT
from webhook_processors.signing import sign

API = "https://api.pagerduty.com"
TOKEN = "webhook-test-token-0123456789"
SECRET = "pagerduty-signing-secret"

INCIDENT: dict[str, Any] = {
    "id": "Q1",
    "title": "Disk full",
    "status": "resolved",
    "urgency": "high",
    "service": {"id": "S1"},
    "teams": [],
    "assignments": [],
}

MAPPING: dict[str, Any] = {
    "resources": [
        {
            "kind": "incidents",
            "selector": {"query": "true"},
            "port": {
                "entity": {
                    "mappings": {
                        "identifier": ".id",
                        "title": ".title",
                        "blueprint": '"pagerdutyIncident"',
                        "properties": {"status": ".status"},
                    }
                }
            },
        },
        {
            "kind": "incidents",
            "selector": {
                "query": "true",
                "apiQueryParams": {"statuses": ["triggered", "acknowledged"]},
            },
            "port": {
                "entity": {
                    "mappings": {
                        "identifier": ".id",
                        "title": ".title",
                        "blueprint": '"openIncident"',
                    }
                }
            },
        },
        {
            "kind": "services",
            "selector": {"query": "true"},
            "port": {
                "entity": {
                    "mappings": {
                        "identifier": ".id",
                        "title": ".name",
                        "blueprint": '"pagerdutyService"',
                        "properties": {
                            "oncall": ".__oncall_user[0].user.email",
                            "mttr": ".__analytics.mean_seconds_to_resolve",
                        },
                    }
                }
            },
        },
    ]
}


def pagerduty() -> InterceptTransport:
    transport = InterceptTransport(strict=True)
    for incident_id in ("Q1", "Q2", "Q3"):
        incident = INCIDENT | {"id": incident_id}
        transport.add_route(
            "GET", f"{API}/incidents/{incident_id}", {"json": {"incident": incident}}
        )
    transport.add_route(
        "GET",
        f"{API}/services/S1",
        {
            "json": {
                "service": {
                    "id": "S1",
                    "name": "API",
                    "escalation_policy": {"id": "P1"},
                }
            }
        },
    )
    transport.add_route(
        "GET",
        f"{API}/oncalls",
        {
            "json": {
                "oncalls": [
                    {
                        "escalation_policy": {"id": "P1"},
                        "escalation_level": 1,
                        "user": {"email": "first@example.com"},
                    }
                ],
                "more": False,
            }
        },
    )
    transport.add_route(
        "POST",
        f"{API}/analytics/metrics/incidents/services",
        {"json": {"data": [{"service_id": "S1", "mean_seconds_to_resolve": 42}]}},
    )
    transport.add_route(
        "GET",
        f"{API}/incidents/GONE",
        httpx.Response(404, json={"error": {"message": "Not Found", "code": 2100}}),
    )
    return transport


def delivery(
    event_type: str,
    data: dict[str, Any],
    *,
    secret: str | None = SECRET,
    webhook_id: str | None = None,
    event_id: str | None = None,
    occurred_at: str | None = None,
) -> WebhookEvent:
    envelope = {
        "id": event_id or str(uuid4()),
        "event_type": event_type,
        "occurred_at": occurred_at or datetime.now(UTC).isoformat(),
        "data": data,
    }
    payload = {"event": envelope}
    raw = json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "x-webhook-id": webhook_id or str(uuid4()),
    }
    if secret is not None:
        headers["x-pagerduty-signature"] = f"v1={sign(raw, secret)}"
    return WebhookEvent(
        trace_id=str(uuid4()),
        payload=payload,
        headers=headers,
        original_request=WebhookRequestAdapter(raw, headers),
    )


async def deliver(harness: IntegrationTestHarness, event: WebhookEvent) -> None:
    harness.port_mock.upserted_entities.clear()
    harness.port_mock.deleted_entities.clear()
    manager = ocean.app.webhook_manager
    await manager._process_webhook_event("/webhook", 0, event)


def landed(harness: IntegrationTestHarness) -> list[tuple[str, str]]:
    return [
        (e["blueprint"], e["identifier"]) for e in harness.port_mock.upserted_entities
    ]


def pd_fetches(harness: IntegrationTestHarness, path: str) -> int:
    transport = harness.third_party_transport
    return len([c for c in transport.calls if c.request.url.path == path])


@pytest.mark.parametrize(
    "event_type, data",
    [
        ("incident.resolved", {"id": "Q1", "type": "incident"}),
        (
            "incident.annotated",
            {"id": "N1", "type": "incident_note", "incident": {"id": "Q1"}},
        ),
        (
            "incident.status_update_published",
            {"id": "SU1", "type": "status_update", "incident": {"id": "Q1"}},
        ),
        (
            "incident.responder.added",
            {"type": "incident_responder", "incident": {"id": "Q1"}},
        ),
    ],
)
async def test_incident_events_refresh_the_right_incident(
    harness: IntegrationTestHarness, event_type: str, data: dict[str, Any]
) -> None:
    await deliver(harness, delivery(event_type, data))
    assert landed(harness) == [("pagerdutyIncident", "Q1")]
    (entity,) = harness.port_mock.upserted_entities
    assert entity["properties"]["status"] == "resolved", "current state, fetched"


async def test_a_delivery_is_mapped_by_the_integrations_processor_without_forking(
    harness: IntegrationTestHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ocean's webhook manager would map with its default JQ processor: no
    mapping guard, and a forked JQ process pool for every delivery."""
    assert isinstance(
        ocean.app.webhook_manager.entity_processor, GuardedJQEntityProcessor
    )

    def no_fork(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a webhook delivery forked Ocean's JQ process pool")

    monkeypatch.setattr(jq_entity_processor, "ProcessPoolExecutor", no_fork)
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}))
    assert landed(harness) == [("pagerdutyIncident", "Q1")]


async def test_resolved_incident_leaves_the_open_incidents_block(
    harness: IntegrationTestHarness,
) -> None:
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}))
    deleted = [
        (e["blueprint"], e["identifier"]) for e in harness.port_mock.deleted_entities
    ]
    assert deleted == [("openIncident", "Q1")]


@pytest.mark.parametrize("secret", [None, "forged-secret"])
async def test_unsigned_or_forged_deliveries_change_nothing(
    harness: IntegrationTestHarness, secret: str | None
) -> None:
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}, secret=secret))
    assert landed(harness) == []
    assert harness.port_mock.deleted_entities == []
    assert pd_fetches(harness, "/incidents/Q1") == 0


async def test_redelivery_is_not_fetched_again(harness: IntegrationTestHarness) -> None:
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}, event_id="E1"))
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}, event_id="E1"))
    assert pd_fetches(harness, "/incidents/Q1") == 1


async def test_a_captured_delivery_replayed_under_a_new_webhook_id_is_not_fetched(
    harness: IntegrationTestHarness,
) -> None:
    captured = delivery("incident.resolved", {"id": "Q1"}, webhook_id="W1")
    await deliver(harness, captured)
    replayed_headers = {**captured.headers, "x-webhook-id": "W2-new"}
    raw = await captured._original_request.body()  # type: ignore[union-attr]
    replay = WebhookEvent(
        trace_id=str(uuid4()),
        payload=captured.payload,
        headers=replayed_headers,
        original_request=WebhookRequestAdapter(raw, replayed_headers),
    )
    await deliver(harness, replay)
    assert pd_fetches(harness, "/incidents/Q1") == 1
    assert landed(harness) == []


async def test_a_signed_event_older_than_the_replay_horizon_is_refused(
    harness: IntegrationTestHarness,
) -> None:
    old = (datetime.now(UTC) - timedelta(hours=51)).isoformat()
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}, occurred_at=old))
    assert pd_fetches(harness, "/incidents/Q1") == 0


async def test_deliveries_of_distinct_events_are_each_fetched(
    harness: IntegrationTestHarness,
) -> None:
    await deliver(harness, delivery("incident.acknowledged", {"id": "Q1"}))
    await deliver(harness, delivery("incident.resolved", {"id": "Q1"}))
    assert pd_fetches(harness, "/incidents/Q1") == 2


async def test_vanished_incident_is_deleted(harness: IntegrationTestHarness) -> None:
    await deliver(harness, delivery("incident.triggered", {"id": "GONE"}))
    deleted = {e["identifier"] for e in harness.port_mock.deleted_entities}
    assert deleted == {"GONE"}


async def test_service_update_carries_oncall_like_a_resync(
    harness: IntegrationTestHarness,
) -> None:
    await deliver(harness, delivery("service.updated", {"id": "S1", "type": "service"}))
    (entity,) = harness.port_mock.upserted_entities
    assert entity["properties"]["oncall"] == "first@example.com"
    assert entity["properties"]["mttr"] == 42


async def test_service_deleted_removes_the_entity(
    harness: IntegrationTestHarness,
) -> None:
    await deliver(harness, delivery("service.deleted", {"id": "S1", "type": "service"}))
    assert [e["identifier"] for e in harness.port_mock.deleted_entities] == ["S1"]
    assert landed(harness) == []
    assert pd_fetches(harness, "/services/S1") == 0


@pytest.mark.usefixtures("fresh_process_records")
async def test_a_vanished_incident_leaves_port_under_the_shipped_mapping(
    default_mapping: dict[str, Any],
) -> None:
    """The shipped mapping's relations (assignees...) cannot be mapped from what is
    left of a deleted incident ({"id"}); only its identifier is needed to delete."""
    incidents_only = {
        **default_mapping,
        "resources": [
            r for r in default_mapping["resources"] if r["kind"] == "incidents"
        ],
    }
    h = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=incidents_only,
        third_party_transport=pagerduty(),
        port_search_entities_response=[
            {"identifier": "GONE", "blueprint": "pagerdutyIncident"}
        ],
        config_overrides={
            "integration": {
                "identifier": "pd-webhooks-shipped",
                "type": "pagerduty",
                "config": {"token": TOKEN, "api_url": API, "webhook_secret": SECRET},
            }
        },
    )
    await h.start()
    try:
        await ocean.app.webhook_manager.initialize_handlers()
        await deliver(h, delivery("incident.resolved", {"id": "GONE"}))
        deleted = {
            (e["blueprint"], e["identifier"]) for e in h.port_mock.deleted_entities
        }
        assert deleted == {("pagerdutyIncident", "GONE")}
    finally:
        await h.shutdown()
