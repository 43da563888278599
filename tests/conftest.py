import json
import sys
from collections.abc import Iterator
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
