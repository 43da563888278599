"""Executors run the way Ocean runs them (its execution manager, in a harness-booted
integration), against the PagerDuty simulator in-process; Port's run API is
recorded instead of called."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from port_ocean.context.ocean import ocean
from port_ocean.core.models import ActionRun
from port_ocean.integration_testing import IntegrationTestHarness

import actions.actor
import actions.ordering
from sandbox.pagerduty import PagerDutySim, SimConfig, create_app
from sandbox.pagerduty.incident_changes import create_incident
from tests.conftest import ROOT

TOKEN = "actions-test-token-0123456789abcdef"
SIM = SimConfig(
    seed=5,
    services=6,
    incidents=40,
    teams=2,
    users=12,
    token=TOKEN,
    rate_limit_per_minute=0,
)
TWO_INCIDENT_BLOCKS: dict[str, Any] = {
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
                        "properties": {"status": ".status", "urgency": ".urgency"},
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
    ]
}


@dataclass
class Reported:
    """What the run would have told Port."""

    completed: list[dict[str, Any]] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        (only,) = self.completed
        return "SUCCESS" if only["success"] else "FAILURE"

    @property
    def message(self) -> str:
        return str(self.completed[-1]["message"])


@dataclass
class Actions:
    harness: IntegrationTestHarness
    sim: PagerDutySim
    reported: Reported
    incident_id: str  # a triggered incident, also "in Port" as an open incident

    @property
    def email(self) -> str:
        return sorted(self.sim.store.users_by_email)[0]

    async def run(self, action_type: str, **properties: Any) -> Reported:
        self.reported.completed.clear()
        self.reported.logs.clear()
        self.harness.port_mock.upserted_entities.clear()
        self.harness.port_mock.deleted_entities.clear()
        run = action_run(action_type, properties)
        await ocean.app.execution_manager._execute_run(run)
        return self.reported

    def upserted(self) -> list[tuple[str, str]]:
        return [
            (e["blueprint"], e["identifier"])
            for e in self.harness.port_mock.upserted_entities
        ]

    def deleted(self) -> list[tuple[str, str]]:
        return [
            (e["blueprint"], e["identifier"])
            for e in self.harness.port_mock.deleted_entities
        ]

    def writes(self) -> list[dict[str, Any]]:
        return [vars(record) for record in self.sim.writes.records]

    def api_calls(self) -> int:
        return self.sim.counters.total


def action_run(action_type: str, properties: dict[str, Any]) -> ActionRun:
    return ActionRun.parse_obj(
        {
            "id": f"r_{action_type}",
            "status": "IN_PROGRESS",
            "action": {"identifier": f"pagerduty_{action_type}"},
            "payload": {
                "type": "INTEGRATION_ACTION",
                "installationId": "pd-actions",
                "integrationActionType": action_type,
                "integrationActionExecutionProperties": properties,
            },
        }
    )


async def harnessed(
    monkeypatch: pytest.MonkeyPatch,
    mapping: dict[str, Any],
    config: dict[str, Any] | None = None,
) -> AsyncIterator[Actions]:
    monkeypatch.setattr(actions.actor, "_directory", actions.actor.UserDirectory())
    monkeypatch.setattr(actions.ordering, "_turns", actions.ordering.TurnTaking())
    app = create_app(replace(SIM))  # a config of its own: tests change it
    sim: PagerDutySim = app.state.sim
    incident_id = str(create_incident(sim.store, {"status": "triggered"})["id"])
    harness = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=mapping,
        third_party_transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        port_search_entities_response=[
            {"identifier": incident_id, "blueprint": "openIncident"}
        ],
        config_overrides={
            "integration": {
                "identifier": "pd-actions",
                "type": "pagerduty",
                "config": {"token": TOKEN, "api_url": "http://sim", **(config or {})},
            }
        },
    )
    await harness.start()
    reported = Reported()

    async def acknowledge_run(run: Any) -> None:
        return None

    async def report_run_completed(run: Any, **kwargs: Any) -> None:
        reported.completed.append(kwargs)

    async def post_run_log(run: Any, message: str, **kwargs: Any) -> None:
        reported.logs.append(message)

    monkeypatch.setattr(ocean.port_client, "acknowledge_run", acknowledge_run)
    monkeypatch.setattr(ocean.port_client, "report_run_completed", report_run_completed)
    monkeypatch.setattr(ocean.port_client, "post_run_log", post_run_log)
    try:
        yield Actions(harness, sim, reported, incident_id)
    finally:
        await harness.shutdown()


@pytest.fixture
async def pd(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Actions]:
    async for actions_ in harnessed(monkeypatch, TWO_INCIDENT_BLOCKS):
        yield actions_
