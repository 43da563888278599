"""The Port stand-in under a real `ocean sail` of a toy integration (its API
semantics in-process: test_standin_api.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent

TOY_MAIN = """
import os
from typing import Any

from port_ocean.context.ocean import ocean


@ocean.on_resync("toy-item")
async def on_resync_items(kind: str) -> list[dict[str, Any]]:
    count = int(os.environ["TOY_ITEM_COUNT"])
    return [
        {"id": f"item-{i}", "name": f"Item {i}", "size": i * 10, "group": f"group-{i % 2}"}
        for i in range(count)
    ]
"""
TOY_SPEC = """
description: throwaway integration for the Port stand-in tests
icon: Blueprint
features:
  - type: exporter
    section: Testing
    resources:
      - kind: toy-item
configurations: []
"""
TOY_BLUEPRINTS = [
    {
        "identifier": "toyGroup",
        "title": "Toy Group",
        "schema": {"properties": {}},
        "relations": {},
    },
    {
        "identifier": "toyItem",
        "title": "Toy Item",
        "schema": {
            "properties": {"size": {"type": "number", "title": "Size"}},
            "required": [],
        },
        "relations": {
            "group": {
                "title": "Group",
                "target": "toyGroup",
                "required": False,
                "many": False,
            }
        },
    },
]
TOY_APP_CONFIG = """
createMissingRelatedEntities: true
deleteDependentEntities: true
resources:
  - kind: toy-item
    selector:
      query: "true"
    port:
      entity:
        mappings:
          identifier: .id
          title: .name
          blueprint: '"toyItem"'
          properties:
            size: .size
          relations:
            group: .group
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def toy_integration(tmp_path: Path) -> Path:
    root = tmp_path / "toy"
    (root / ".port" / "resources").mkdir(parents=True)
    (root / "main.py").write_text(TOY_MAIN)
    (root / "pyproject.toml").write_text('[project]\nname = "toy"\nversion = "0.1.0"\n')
    (root / ".port" / "spec.yaml").write_text(TOY_SPEC)
    (root / ".port" / "resources" / "blueprints.json").write_text(
        json.dumps(TOY_BLUEPRINTS)
    )
    (root / ".port" / "resources" / "port-app-config.yaml").write_text(TOY_APP_CONFIG)
    return root


@pytest.fixture
def standin_process(
    tmp_path: Path,
) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    ready = tmp_path / "ready"
    dump = tmp_path / "dump.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.port",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--dump",
            str(dump),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split(" ", 1)[1]
        assert ready.read_text().strip() == url
        yield url, dump, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _ocean_env(url: str, count: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OCEAN__", "APPLICATION__"))
    }
    env.update(
        {
            "TOY_ITEM_COUNT": str(count),
            "OCEAN__PORT__BASE_URL": url,
            "OCEAN__PORT__CLIENT_ID": "toy-client",
            "OCEAN__PORT__CLIENT_SECRET": "toy-secret",
            "OCEAN__EVENT_LISTENER": '{"type":"ONCE"}',
            "OCEAN__INITIALIZE_PORT_RESOURCES": "true",
            "OCEAN__INTEGRATION__IDENTIFIER": "toy-1",
            "OCEAN__INTEGRATION__TYPE": "toy",
            "OCEAN__CACHING_STORAGE_MODE": "memory",
            "OCEAN__PROCESSING_MODE": "ocean-core",
            "OCEAN__LAKEHOUSE_ENABLED": "false",
            "APPLICATION__PORT": str(_free_port()),
        }
    )
    return env


def _sail(integration: Path, url: str, count: int) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "ocean"), "sail", "."],
        cwd=integration,
        env=_ocean_env(url, count),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.mark.timeout(60)
def test_real_ocean_sail_initializes_syncs_and_reconciles(
    toy_integration: Path, standin_process: tuple[str, Path, subprocess.Popen[str]]
) -> None:
    url, dump, proc = standin_process
    _sail(toy_integration, url, count=3)
    catalog = httpx.get(f"{url}/_standin/catalog").json()
    assert {"toyGroup", "toyItem"} <= set(catalog["blueprints"])
    assert (
        catalog["blueprints"]["toyItem"]["relations"]["group"]["target"] == "toyGroup"
    )
    assert set(catalog["entities"]["toyItem"]) == {"item-0", "item-1", "item-2"}
    assert catalog["entities"]["toyItem"]["item-2"]["properties"] == {"size": 20}
    assert catalog["entities"]["toyItem"]["item-1"]["relations"] == {"group": "group-1"}
    assert set(catalog["entities"]["toyGroup"]) == {"group-0", "group-1"}  # stubs
    integration = httpx.get(f"{url}/_standin/integration/toy-1").json()
    assert integration["resyncState"]["status"] == "completed"
    assert integration["arePortResourcesInitialized"] is True
    assert integration["config"]["resources"][0]["kind"] == "toy-item"
    assert httpx.get(f"{url}/_standin/mismatches").json()["count"] == 0
    requests = httpx.get(f"{url}/_standin/requests").json()
    assert requests["unknown"] == [], requests["unknown"]
    assert requests["counts"]["POST /v1/integration"] == 1

    # second run yields one item fewer: reconciliation deletes exactly that entity
    _sail(toy_integration, url, count=2)
    deleted = httpx.get(f"{url}/_standin/deleted").json()["deleted"]
    assert [(d["blueprint"], d["identifier"]) for d in deleted] == [
        ("toyItem", "item-2")
    ]
    catalog = httpx.get(f"{url}/_standin/catalog").json()
    assert set(catalog["entities"]["toyItem"]) == {"item-0", "item-1"}
    assert set(catalog["entities"]["toyGroup"]) == {"group-0", "group-1"}
    integration = httpx.get(f"{url}/_standin/integration/toy-1").json()
    assert [s["status"] for s in integration["resyncStateHistory"]] == [
        "running",
        "completed",
        "running",
        "completed",
    ]
    requests = httpx.get(f"{url}/_standin/requests").json()
    assert requests["unknown"] == [], requests["unknown"]
    assert requests["counts"]["POST /v1/integration"] == 1  # reused, not re-created

    # SIGTERM writes the catalog dump and exits cleanly
    proc.terminate()
    assert proc.wait(timeout=10) == 0
    dumped = json.loads(dump.read_text())
    assert set(dumped["entities"]["toyItem"]) == {"item-0", "item-1"}
