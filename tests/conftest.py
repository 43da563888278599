import json
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def fresh_pagerduty_client() -> Iterator[None]:
    """Each test builds its own shared client (on its own mocked transport)."""
    import client

    client._shared_client = None
    yield
    client._shared_client = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "contract_violations: the test provokes PagerDuty contract violations on "
        "purpose and asserts them itself",
    )


@pytest.fixture(autouse=True)
def in_process_simulators_keep_the_contract(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """Fail any test during which an in-process PagerDuty simulator recorded a
    contract violation it did not ask for (the e2e conftest does the same for
    simulator processes)."""
    from sandbox.pagerduty.state import LIVE_SIMULATORS

    seen_before = {id(sim): len(sim.violations.items) for sim in LIVE_SIMULATORS}
    yield
    if request.node.get_closest_marker("contract_violations"):
        return
    new = [
        item.describe()
        for sim in list(LIVE_SIMULATORS)
        for item in sim.violations.items[seen_before.get(id(sim), 0) :]
    ]
    if new:
        pytest.fail(
            f"{len(new)} PagerDuty contract violation(s):\n" + "\n".join(new),
            pytrace=False,
        )


@pytest.fixture
def reference_samples() -> dict[str, Any]:
    """The sample payloads and expected entities of the reference user doc."""
    samples: dict[str, Any] = json.loads(
        (FIXTURES / "reference_doc_samples.json").read_text()
    )
    return samples


@pytest.fixture
def doc_mapping(reference_samples: dict[str, Any]) -> dict[str, Any]:
    """The integration configuration the reference doc shows for both kinds."""
    mapping: dict[str, Any] = reference_samples["mapping"]
    return mapping


@pytest.fixture
def default_mapping() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(
        (ROOT / ".port/resources/port-app-config.yaml").read_text()
    )
    return config


@asynccontextmanager
async def started_ocean(
    mapping: dict[str, Any],
    pagerduty: Any = None,
    config: dict[str, Any] | None = None,
) -> AsyncIterator[None]:
    """The integration started in Ocean's harness (on_start is not run); PagerDuty
    is `pagerduty` (an httpx transport) or answers nothing."""
    from port_ocean.integration_testing import (
        IntegrationTestHarness,
        InterceptTransport,
    )

    harness = IntegrationTestHarness(
        integration_path=str(ROOT),
        port_mapping_config=mapping,
        third_party_transport=pagerduty or InterceptTransport(strict=False),
        config_overrides={
            "integration": {
                "identifier": "pagerduty-started",
                "type": "pagerduty",
                "config": {
                    "token": "started-test-token-000",
                    "api_url": "http://x",
                    **(config or {}),
                },
            }
        },
    )
    await harness.start()
    try:
        yield
    finally:
        await harness.shutdown()
