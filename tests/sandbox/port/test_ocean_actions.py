"""Ocean's own actions machinery against the Port stand-in.

First Ocean's Port client (the mixins its ExecutionManager calls) over an in-process
transport, call by call; then a real ``ocean sail`` of a throwaway integration with
the actions processor on and the POLLING listener, claiming and executing runs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from port_ocean.clients.port.authentication import PortAuthentication
from port_ocean.clients.port.mixins.actions_and_workflow_runs import (
    ActionsAndWorkflowRunsClientMixin,
)
from port_ocean.core.models import ActionRun
from port_ocean.exceptions.execution_manager import RunAlreadyAcknowledgedError

from sandbox.port import PortState, create_app
from tests.sandbox.port.conftest import GREET_ACTION, SERVICE_BP

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent


# ------------------------------------------------ Ocean's client, call by call
@pytest.fixture
async def ocean_client(
    state: PortState,
) -> AsyncIterator[ActionsAndWorkflowRunsClientMixin]:
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport) as raw:
        auth = PortAuthentication(
            raw,
            "toy-client",
            "toy-secret",
            "http://standin/v1",
            "toy-1",
            "toy",
            "0.1.0",
        )
        yield ActionsAndWorkflowRunsClientMixin(auth, raw)


async def test_ocean_port_client_drives_a_run_end_to_end(
    state: PortState, ocean_client: ActionsAndWorkflowRunsClientMixin
) -> None:
    port = ocean_client
    assert await port.auth.is_machine_user()  # else Ocean skips actions processing
    state.seed(
        {
            "blueprints": [SERVICE_BP],
            "entities": [{"blueprint": "svc", "identifier": "a"}],
        }
    )
    state.seed({"integrations": [{"installationId": "toy-1"}]})
    await port.create_action(GREET_ACTION)
    with pytest.raises(httpx.HTTPStatusError):
        await port.create_action(GREET_ACTION)  # Port: identifier taken
    ok_run = state.run_trigger.enqueue(
        {"action": "svc_greet", "properties": {"name": "Ada"}, "entity": "a"}
    )["id"]
    bad_run = state.run_trigger.enqueue({"action": "svc_greet", "properties": {}})["id"]

    runs = await port.claim_pending_runs(limit=10, visibility_timeout_ms=60_000)
    assert [r.id for r in runs] == [ok_run, bad_run]
    assert await port.claim_pending_runs(limit=10, visibility_timeout_ms=60_000) == []
    run, other = runs
    assert isinstance(run, ActionRun) and run.action_type == "greet"
    assert run.execution_properties == {"name": "Ada"}

    await port.acknowledge_run(run)
    with pytest.raises(RunAlreadyAcknowledgedError):
        await port.acknowledge_run(run)
    await port.post_run_log(run, "greeting Ada", status_label="Greeting")
    await port.update_run_started(
        run, "https://example.com/job/7", "job-7", status_label="Started"
    )
    found = await port.find_run_by_external_id("job-7")
    assert found is not None and found.id == run.id and port.is_run_in_progress(found)
    assert await port.find_run_by_external_id("job-unknown") is None
    await port.patch_run(run, {"summary": "greeted Ada"})
    await port.report_run_completed(
        run, success=True, message="hello Ada", status_label="Done"
    )

    await port.acknowledge_run(other)
    await port.report_run_completed(other, success=False, message="no name")

    view = state.runs.view(ok_run)
    assert view["status"] == "SUCCESS"
    assert view["summary"] == "greeted Ada"
    assert view["statusLabel"] == "Done"
    assert view["link"] == ["https://example.com/job/7"]
    assert [log["message"] for log in view["logs"]] == ["greeting Ada", "hello Ada"]
    assert view["run"]["externalRunId"] == "job-7"
    failed = state.runs.view(bad_run)
    assert failed["status"] == "FAILURE"
    assert [log["message"] for log in failed["logs"]] == ["no name"]

    counts = state.requests_report()
    assert counts["unknown"] == []
    for key in (
        "POST /v1/actions/runs/claim-pending",
        "POST /v1/workflows/runs/claim-pending",
        "PATCH /v1/actions/runs/ack",
        "POST /v1/actions/runs/{run_id}/logs",
        "PATCH /v1/actions/runs/{run_id}",
        "GET /v1/actions/runs",
        "GET /v1/workflows/nodes/runs",
        "POST /v1/actions",
    ):
        assert counts["counts"].get(key), key


# ------------------------------------------------------ a real Ocean process
TOY_MAIN = """
from port_ocean.context.ocean import ocean
from port_ocean.core.handlers.actions import AbstractExecutor
from port_ocean.core.handlers.webhook.abstract_webhook_processor import (
    AbstractWebhookProcessor,
)
from port_ocean.core.models import IntegrationRun
from port_ocean.exceptions.execution_manager import ActionExecutionError


class ToyExecutor(AbstractExecutor):
    WEBHOOK_PROCESSOR_CLASS: type[AbstractWebhookProcessor] | None = None
    WEBHOOK_PATH = ""

    async def is_close_to_rate_limit(self, run: IntegrationRun) -> bool:
        return False

    async def get_remaining_seconds_until_rate_limit(self, run: IntegrationRun) -> float:
        return 0.0


class Greet(ToyExecutor):
    ACTION_NAME = "greet"

    def __init__(self) -> None:
        self.limited_once = False

    async def is_close_to_rate_limit(self, run: IntegrationRun) -> bool:
        if self.limited_once:
            return False
        self.limited_once = True
        return True

    async def get_remaining_seconds_until_rate_limit(self, run: IntegrationRun) -> float:
        return 0.2

    async def _get_partition_key(self, run: IntegrationRun) -> str | None:
        return str(run.execution_properties.get("name"))

    async def execute(self, run: IntegrationRun) -> None:
        name = run.execution_properties["name"]
        await ocean.port_client.post_run_log(run, f"greeting {name}", should_raise=False)
        await ocean.port_client.update_run_started(run, "https://example.com/g/1", "g-1")
        found = await ocean.port_client.find_run_by_external_id("g-1")
        assert found is not None and found.id == run.id
        await ocean.port_client.patch_run(run, {"summary": f"greeted {name}"})
        await ocean.port_client.report_run_completed(
            run, success=True, message=f"hello {name}", status_label="Greeted"
        )


class Refuse(ToyExecutor):
    ACTION_NAME = "refuse"

    async def execute(self, run: IntegrationRun) -> None:
        raise ActionExecutionError("refused on purpose", status_label="Refused")


ocean.register_action_executor(Greet())
ocean.register_action_executor(Refuse())


@ocean.on_resync("toy-service")
async def on_resync_services(kind: str) -> list[dict[str, str]]:
    return []
"""
TOY_SPEC = """
description: throwaway integration executing actions for the Port stand-in tests
icon: Blueprint
features:
  - type: exporter
    section: Testing
    resources:
      - kind: toy-service
configurations: []
actionsProcessingEnabled: true
actions:
  - name: greet
    description: Greets someone
    inputs:
      - name: name
        title: Name
        type: string
        required: true
  - name: refuse
    description: Always fails
    inputs: []
"""
TOY_BLUEPRINTS = [
    {"identifier": "toyService", "title": "Toy Service", "schema": {"properties": {}}}
]
TOY_ACTIONS = [
    {
        "identifier": "toyService_greet",
        "title": "Greet",
        "trigger": {
            "type": "self-service",
            "operation": "DAY-2",
            "blueprintIdentifier": "toyService",
            "userInputs": {"properties": {"name": {"type": "string"}}},
        },
        "invocationMethod": {
            "type": "INTEGRATION_ACTION",
            "installationId": "toy-actions",
            "integrationActionType": "greet",
            "integrationActionExecutionProperties": {"name": "{{ .inputs.name }}"},
        },
    }
]
TOY_APP_CONFIG = """
resources:
  - kind: toy-service
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"toyService"'
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_integration(root: Path) -> None:
    (root / ".port" / "resources").mkdir(parents=True)
    (root / "main.py").write_text(TOY_MAIN)
    (root / "pyproject.toml").write_text('[project]\nname = "toy"\nversion = "0.1.0"\n')
    (root / ".port" / "spec.yaml").write_text(TOY_SPEC)
    resources = root / ".port" / "resources"
    (resources / "blueprints.json").write_text(json.dumps(TOY_BLUEPRINTS))
    (resources / "actions.json").write_text(json.dumps(TOY_ACTIONS))
    (resources / "port-app-config.yaml").write_text(TOY_APP_CONFIG)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def standin_url(tmp_path: Path) -> Iterator[str]:
    ready = tmp_path / "port.ready"
    log = (tmp_path / "port.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.port",
            "--port",
            "0",
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text().strip()):
            assert proc.poll() is None and time.monotonic() < deadline, "no stand-in"
            time.sleep(0.05)
        yield ready.read_text().strip()
    finally:
        _stop(proc)
        log.close()


def _ocean_env(url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OCEAN__", "APPLICATION__"))
    }
    env.update(
        {
            "OCEAN__PORT__BASE_URL": url,
            "OCEAN__PORT__CLIENT_ID": "toy-client",
            "OCEAN__PORT__CLIENT_SECRET": "toy-secret",
            "OCEAN__EVENT_LISTENER": json.dumps(
                {"type": "POLLING", "resync_on_start": False, "interval": 3600}
            ),
            "OCEAN__ACTIONS_PROCESSOR__ENABLED": "true",
            "OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS": "1",
            "OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT": "2",
            "OCEAN__INITIALIZE_PORT_RESOURCES": "true",
            "OCEAN__INTEGRATION__IDENTIFIER": "toy-actions",
            "OCEAN__INTEGRATION__TYPE": "toy",
            "OCEAN__CACHING_STORAGE_MODE": "memory",
            "OCEAN__PROCESSING_MODE": "ocean-core",
            "OCEAN__LAKEHOUSE_ENABLED": "false",
            "APPLICATION__PORT": str(_free_port()),
        }
    )
    return env


def _wait_for(
    check: Any, what: str, proc: subprocess.Popen[bytes], log: Path, seconds: float
) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


@pytest.mark.timeout(90)
def test_real_ocean_claims_and_executes_runs(tmp_path: Path, standin_url: str) -> None:
    url = standin_url
    integration = tmp_path / "toy"
    _write_integration(integration)
    log_path = tmp_path / "ocean.log"
    with log_path.open("wb") as log:
        ocean = subprocess.Popen(
            [str(VENV_BIN / "ocean"), "sail", "."],
            cwd=integration,
            env=_ocean_env(url),
            stdout=log,
            stderr=log,
        )
    try:
        # initializePortResources: the blueprint and the action from .port/resources
        catalog = _wait_for(
            lambda: httpx.get(f"{url}/_standin/catalog").json()["actions"],
            "the action definition",
            ocean,
            log_path,
            45,
        )
        action = catalog["toyService_greet"]
        assert action["invocationMethod"]["integrationActionType"] == "greet"
        httpx.post(
            f"{url}/_standin/seed",
            json={"entities": [{"blueprint": "toyService", "identifier": "svc-1"}]},
        ).raise_for_status()

        def enqueue(body: dict[str, Any]) -> str:
            response = httpx.post(f"{url}/_standin/runs", json=body)
            assert response.status_code == 201, response.text
            run_id: str = response.json()["id"]
            return run_id

        greet = enqueue(
            {
                "action": "toyService_greet",
                "properties": {"name": "Ada"},
                "entity": "svc-1",
                "userEmail": "ada@example.com",
            }
        )
        refuse = enqueue({"action": "toyService_refuse", "actionType": "refuse"})
        orphan = enqueue({"action": "toyService_nothing", "actionType": "nothing"})

        def finished() -> dict[str, Any] | None:
            views = {
                run_id: httpx.get(f"{url}/_standin/runs/{run_id}").json()
                for run_id in (greet, refuse, orphan)
            }
            done = all(v["status"] != "IN_PROGRESS" for v in views.values())
            return views if done else None

        views = _wait_for(finished, "the runs to finish", ocean, log_path, 40)
    finally:
        _stop(ocean)

    ok = views[greet]
    assert ok["status"] == "SUCCESS", ok
    assert ok["summary"] == "greeted Ada"
    assert ok["statusLabel"] == "Greeted"
    assert ok["link"] == ["https://example.com/g/1"]
    messages = [log["message"] for log in ok["logs"]]
    assert messages[0].startswith("Delayed due to low remaining rate limit"), messages
    assert ok["logs"][0]["statusLabel"] == "Rate limited"
    # the rate-limit wait happens before the run is acknowledged
    assert ok["logs"][0]["createdAt"] <= ok["acknowledgedAt"]
    assert messages[1:] == ["greeting Ada", "hello Ada"]
    assert ok["run"]["createdBy"] == "ada@example.com"

    refused = views[refuse]
    assert refused["status"] == "FAILURE"
    assert refused["statusLabel"] == "Refused"
    assert [log["message"] for log in refused["logs"]] == ["refused on purpose"]

    unrouted = views[orphan]
    assert unrouted["status"] == "FAILURE"
    assert unrouted["acknowledgedAt"] is not None
    assert [log["message"] for log in unrouted["logs"]] == [
        "No executor registered for action type 'nothing'"
    ]

    integration_record = httpx.get(f"{url}/_standin/integration/toy-actions").json()
    assert integration_record["actionsProcessingEnabled"] is True
    assert integration_record["resyncStateHistory"] == []  # resync_on_start: false
    requests = httpx.get(f"{url}/_standin/requests").json()
    assert requests["unknown"] == [], requests["unknown"]
    assert requests["counts"]["POST /v1/workflows/runs/claim-pending"] >= 1
