"""Incremental sync (Ocean's on_incremental_resync, ONCE) against the sandbox."""

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import INTEGRATION_ID, SimSettings, Stack, sandbox_stack

INCREMENTAL = {
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED": "true",
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL": "15",
}
OPEN = ["triggered", "acknowledged"]


@pytest.fixture(scope="module")
def synced() -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=10, incidents=300, seed=11)) as stack:
        run = stack.run_once()
        assert run.exit_code == 0, run.output[-3000:]
        yield stack


def integration_config(stack: Stack) -> dict[str, Any]:
    config: dict[str, Any] = stack.port.get(f"/_standin/integration/{INTEGRATION_ID}")[
        "config"
    ]
    return config


def set_integration_config(
    stack: Stack, change: Callable[[dict[str, Any]], None]
) -> None:
    integration = stack.port.get(f"/_standin/integration/{INTEGRATION_ID}")
    config = copy.deepcopy(integration["config"])
    change(config)
    stack.port.post(
        "/_standin/seed", {"integrations": [{**integration, "config": config}]}
    )


def incidents_block(config: dict[str, Any]) -> dict[str, Any]:
    block: dict[str, Any] = next(
        r for r in config["resources"] if r["kind"] == "incidents"
    )
    return block


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_incremental_run_picks_up_a_status_change_without_relisting(
    synced: Stack,
) -> None:
    stack = synced
    catalog = stack.catalog()["pagerdutyIncident"]
    created = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    new_id = created["incident"]["id"]
    open_ids = [
        i for i, e in catalog.items() if e["properties"]["status"] != "resolved"
    ]
    changed_id = open_ids[0] if open_ids else sorted(catalog)[0]
    stack.pagerduty.post(f"/_sim/incidents/{changed_id}", {"status": "resolved"})
    stack.pagerduty.post("/_sim/counters/reset")

    run = stack.run_once(INCREMENTAL)

    assert run.exit_code == 0, run.output[-3000:]
    after = stack.catalog()["pagerdutyIncident"]
    assert after[changed_id]["properties"]["status"] == "resolved"
    assert after[new_id]["properties"]["status"] == "triggered"
    assert set(after) == set(catalog) | {new_id}, "nothing deleted, nothing else added"
    calls = stack.api_calls()["by_endpoint"]
    assert calls.get("GET /incidents", 0) == 0, calls
    assert calls.get("GET /services", 0) == 0, calls
    assert calls["GET /incidents/{id}"] == 2, calls


def first_exit_handler(directory: Path, marker: Path) -> dict[str, str]:
    """Environment whose interpreter registers an exit handler before anything
    else (sitecustomize): it runs last, so it shows that all of them ran."""
    (directory / "sitecustomize.py").write_text(
        "import atexit, pathlib\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'ran')\n"
    )
    inherited = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(directory), inherited]))}


def test_a_failed_incremental_run_exits_non_zero_and_says_why(
    synced: Stack, tmp_path: Path
) -> None:
    stack = synced
    before = stack.catalog()
    stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
    stack.pagerduty.post("/_sim/config", {"fail_paths": {"/log_entries": 500}})
    marker = tmp_path / "exit-handlers-ran"
    try:
        run = stack.run_once({**INCREMENTAL, **first_exit_handler(tmp_path, marker)})
    finally:
        stack.pagerduty.post("/_sim/config", {"fail_paths": {}})

    assert run.exit_code == 1, run.output[-3000:]
    line = last_line(run.output)
    assert "The one-off incremental sync failed" in line, run.output[-3000:]
    assert "'incidents' (block #" in line and "not advanced" in line, line
    assert "/log_entries" in line and "500" in line, line
    assert marker.read_text() == "ran", "an exit handler was skipped"
    assert stack.catalog() == before

    # The cursor stayed put: the next (healthy) run picks the change up.
    retry = stack.run_once(INCREMENTAL)
    assert retry.exit_code == 0, retry.output[-3000:]
    assert (
        len(stack.catalog()["pagerdutyIncident"])
        == len(before["pagerdutyIncident"]) + 1
    )


def test_an_incremental_pass_removes_an_incident_that_left_the_block(
    synced: Stack,
) -> None:
    stack = synced
    original = integration_config(stack)
    set_integration_config(
        stack,
        lambda config: incidents_block(config)["selector"].update(
            {"apiQueryParams": {"statuses": OPEN}}
        ),
    )
    leaving = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})[
        "incident"
    ]["id"]
    try:
        full = stack.run_once()
        assert full.exit_code == 0, full.output[-3000:]
        catalog = stack.catalog()["pagerdutyIncident"]
        assert leaving in catalog
        assert {e["properties"]["status"] for e in catalog.values()} <= set(OPEN)
        stack.pagerduty.post(f"/_sim/incidents/{leaving}", {"status": "resolved"})
        arriving = stack.pagerduty.post("/_sim/incidents", {"status": "triggered"})
        arriving_id = arriving["incident"]["id"]

        run = stack.run_once(INCREMENTAL)

        assert run.exit_code == 0, run.output[-3000:]
        after = stack.catalog()["pagerdutyIncident"]
        assert leaving not in after, "a resolved incident stayed in an open-only block"
        assert set(after) == (set(catalog) - {leaving}) | {arriving_id}
        deleted = stack.port.get("/_standin/deleted")
        assert leaving in str(deleted), deleted
    finally:
        set_integration_config(stack, lambda config: config.update(original))
