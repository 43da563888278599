from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.stack import SANDBOX_TOKEN, Run, SimSettings, Stack, sandbox_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with sandbox_stack(SimSettings(services=30, incidents=400, seed=3)) as running:
        yield running


@pytest.fixture(scope="module")
def first_run(stack: Stack) -> Run:
    return stack.run_once()


def pagerduty_list(
    stack: Stack, path: str, key: str, **params: str
) -> list[dict[str, Any]]:
    """Everything the simulator serves at `path`, read the way a client would."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = httpx.get(
            f"{stack.pagerduty.url}{path}",
            params={**params, "limit": "100", "offset": str(offset)},
            headers={"Authorization": f"Token token={SANDBOX_TOKEN}"},
        ).json()
        items += body[key]
        if not body["more"]:
            return items
        offset += 100
