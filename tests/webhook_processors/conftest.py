"""The harness-booted integration the webhook processor tests deliver to."""

from collections.abc import AsyncIterator

import pytest
from port_ocean.context.ocean import ocean
from port_ocean.integration_testing import IntegrationTestHarness

import webhook_processors.coalesce
import webhook_processors.intake
import webhook_processors.replay
import webhook_processors.secrets
from tests.conftest import ROOT
from tests.webhook_processors.test_processors import (
    API,
    MAPPING,
    SECRET,
    TOKEN,
    pagerduty,
)
from webhook_processors.intake import Intake


@pytest.fixture
def fresh_process_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Process-wide delivery records start empty for the test."""
    monkeypatch.setattr(webhook_processors.replay, "_seen_events", None)
    monkeypatch.setattr(webhook_processors.secrets, "_signing_secrets", None)
    monkeypatch.setattr(webhook_processors.coalesce, "_coalescer", None)
    monkeypatch.setattr(webhook_processors.intake, "_intake", Intake())


@pytest.fixture
async def harness(
    fresh_process_records: None,
) -> AsyncIterator[IntegrationTestHarness]:
    h = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=MAPPING,
        third_party_transport=pagerduty(),
        # What "already exists in Port", so live deletions have something to delete.
        port_search_entities_response=[
            {"identifier": "Q1", "blueprint": "openIncident"},
            {"identifier": "S1", "blueprint": "pagerdutyService"},
            {"identifier": "GONE", "blueprint": "pagerdutyIncident"},
        ],
        config_overrides={
            "integration": {
                "identifier": "pd-webhooks",
                "type": "pagerduty",
                "config": {
                    "token": TOKEN,
                    "api_url": API,
                    "webhook_secret": f"an-older-secret, {SECRET}",
                },
            }
        },
    )
    await h.start()
    await ocean.app.webhook_manager.initialize_handlers()
    yield h
    await h.shutdown()
