"""Incremental sync (Ocean's on_incremental_resync, ONCE) against the sandbox."""

from collections.abc import Iterator

import pytest

from sandbox.stack import SimSettings, Stack, sandbox_stack

INCREMENTAL = {
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_ENABLED": "true",
    "OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL": "15",
}


@pytest.fixture(scope="module")
def synced() -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=10, incidents=300, seed=11)) as stack:
        run = stack.run_once()
        assert run.exit_code == 0, run.output[-3000:]
        yield stack


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
