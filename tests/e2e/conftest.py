import json
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.pagerduty.violations import VIOLATIONS_DIR_ENV
from sandbox.stack import (
    Run,
    SimSettings,
    Stack,
    pagerduty_headers,
    sandbox_stack,
)


class ContractViolations:
    """Violations every PagerDuty simulator started in this session recorded.

    Each simulator process appends its violations to a JSON-lines file in one
    directory (``PAGERDUTY_SIM_VIOLATIONS_DIR``, inherited by the processes
    ``sandbox.stack`` starts); ``new()`` returns those not yet reported.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.read_up_to: dict[Path, int] = {}

    def new(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for path in sorted(self.directory.glob("*.jsonl")):
            with path.open("rb") as lines:
                lines.seek(self.read_up_to.get(path, 0))
                chunk = lines.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self.read_up_to[path] = self.read_up_to.get(path, 0) + len(complete)
            found += [json.loads(line) for line in complete.splitlines() if line]
        return found


@pytest.fixture(scope="session", autouse=True)
def contract_violations(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ContractViolations]:
    directory = tmp_path_factory.mktemp("pagerduty-contract")
    previous = os.environ.get(VIOLATIONS_DIR_ENV)
    os.environ[VIOLATIONS_DIR_ENV] = str(directory)
    try:
        yield ContractViolations(directory)
    finally:
        if previous is None:
            os.environ.pop(VIOLATIONS_DIR_ENV, None)
        else:
            os.environ[VIOLATIONS_DIR_ENV] = previous


def describe(violation: dict[str, Any]) -> str:
    operation = violation["operation_id"] or "(no such operation)"
    return (
        f"{violation['direction']} of {operation} ({violation['method']} "
        f"{violation['path']}, sent to {violation['url_path']}): "
        f"{violation['field']}: {violation['message']}"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    """Fail the test on any PagerDuty contract violation since the last test.

    The check covers the test's setup too (module fixtures run the integration
    there), so a violation fails the first test that caused it.
    """
    outcome = yield
    registry = item.session.config.stash.get(CONTRACT_KEY, None)
    if registry is None:
        return
    found = registry.new()
    if found:
        lines = "\n".join(f"  - {describe(v)}" for v in found[:20])
        more = f"\n  ... and {len(found) - 20} more" if len(found) > 20 else ""
        outcome.force_exception(
            AssertionError(
                f"{len(found)} PagerDuty contract violation(s) recorded by the "
                f"simulator:\n{lines}{more}"
            )
        )


CONTRACT_KEY = pytest.StashKey[ContractViolations]()


@pytest.fixture(autouse=True)
def _register_contract_check(
    request: pytest.FixtureRequest, contract_violations: ContractViolations
) -> None:
    request.config.stash[CONTRACT_KEY] = contract_violations


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
            headers=pagerduty_headers(),
        ).json()
        items += body[key]
        if not body["more"]:
            return items
        offset += 100
