"""Faults and bad input against real `ocean sail` (ONCE) runs: keep working, lose nothing.

One sandbox for the module. The tests run in file order: the first one measures
the fault-free and the faulty run from the same clean state; every later test
starts from a good resync and checks that a failing run neither deletes nor
nulls anything, exits non-zero, says what to fix, and never logs a secret.
"""

import copy
import http.server
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.stack import (
    INTEGRATION_ID,
    SANDBOX_TOKEN,
    Run,
    SimSettings,
    Stack,
    free_port,
    sandbox_stack,
)
from tests.e2e.conftest import pagerduty_list

PD_TOKEN = "pd-fault-suite-token-7f3a9c51"
PORT_SECRET = "port-fault-suite-secret-91b2d4"
WEBHOOK_SECRET = "pd-fault-suite-whsec-c0ffee42"
SECRETS = (PD_TOKEN, PORT_SECRET, WEBHOOK_SECRET)
CREDENTIALS = {
    "OCEAN__INTEGRATION__CONFIG__TOKEN": PD_TOKEN,
    "OCEAN__PORT__CLIENT_SECRET": PORT_SECRET,
    "OCEAN__INTEGRATION__CONFIG__WEBHOOK_SECRET": WEBHOOK_SECRET,
}
FAST_FAIL_SECONDS = 60
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

runs: list[tuple[str, Run]] = []


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # A run of the shipped mapping is about 280 requests (one dependency read per
    # service): the budget leaves room for the retries of 10% faults in one
    # window, so the fault test measures retries, not a window's reset.
    settings = SimSettings(
        services=100, incidents=1500, seed=11, rate_limit_per_minute=600
    )
    with sandbox_stack(settings) as running:
        running.pagerduty.post("/_sim/config", {"token": PD_TOKEN})
        yield running


def once(stack: Stack, label: str, **overrides: str) -> Run:
    run = stack.run_once({**CREDENTIALS, **overrides}, timeout=120)
    runs.append((label, run))
    return run


def sim_config(stack: Stack, **changes: Any) -> None:
    stack.pagerduty.post("/_sim/config", changes)


def healthy(stack: Stack) -> None:
    sim_config(stack, fault_rate=0.0, fail_paths={}, token=PD_TOKEN)
    stack.pagerduty.post("/_sim/rate_limit/reset")


def content(stack: Stack) -> dict[str, dict[str, Any]]:
    """The catalog without bookkeeping timestamps: what a user sees."""
    return {
        blueprint: {
            identifier: {
                key: entity.get(key)
                for key in ("title", "properties", "relations", "team", "icon")
            }
            for identifier, entity in entities.items()
        }
        for blueprint, entities in stack.catalog().items()
    }


def expected_ids(stack: Stack) -> tuple[set[str], set[str]]:
    # pagerduty_list reads with the sandbox's default token.
    sim_config(stack, token=SANDBOX_TOKEN)
    try:
        services = {s["id"] for s in pagerduty_list(stack, "/services", "services")}
        incidents = {i["id"] for i in pagerduty_list(stack, "/incidents", "incidents")}
    finally:
        sim_config(stack, token=PD_TOKEN)
    return services, incidents


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


@pytest.fixture(scope="module")
def good_resync(stack: Stack) -> dict[str, Any]:
    """One completed resync; the tests below each leave the catalog as they found it."""
    healthy(stack)
    run = once(stack, "good resync")
    assert run.exit_code == 0, run.output[-3000:]
    config: dict[str, Any] = stack.port.get(f"/_standin/integration/{INTEGRATION_ID}")[
        "config"
    ]
    return config


@pytest.fixture
def good_catalog(
    stack: Stack, good_resync: dict[str, Any]
) -> Iterator[dict[str, dict[str, Any]]]:
    """The catalog before the test; afterwards the sandbox is healthy again."""
    catalog = content(stack)
    assert catalog["pagerdutyService"] and catalog["pagerdutyIncident"]
    yield catalog
    healthy(stack)
    set_integration_config(stack, lambda config: config.update(good_resync))


def error_lines(run: Run) -> str:
    """Every ERROR record of the run, with its continuation lines."""
    records: list[list[str]] = []
    for line in run.output.splitlines():
        if LOG_RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return "\n".join(
        "\n".join(record)
        for record in records
        if "| ERROR" in record[0] or "| CRITICAL" in record[0]
    )


# ----------------------------------------------------------------- (1) transient faults
def test_transient_faults_and_a_tight_budget_lose_nothing_and_cost_little(
    stack: Stack,
) -> None:
    services, incidents = expected_ids(stack)

    def fresh_run(label: str) -> Run:
        stack.port.post("/_standin/reset")
        stack.pagerduty.post("/_sim/rate_limit/reset")
        stack.pagerduty.post("/_sim/counters/reset")
        return once(stack, label)

    clean = fresh_run("fault-free")
    assert clean.exit_code == 0, clean.output[-3000:]
    sim_config(stack, fault_rate=0.1)
    try:
        faulty = fresh_run("10% 5xx")
    finally:
        sim_config(stack, fault_rate=0.0)

    assert faulty.exit_code == 0, error_lines(faulty) or faulty.output[-3000:]
    assert stack.api_calls()["status_5xx"] >= 1, "no fault was injected"
    catalog = stack.catalog()
    assert set(catalog["pagerdutyService"]) == services
    assert set(catalog["pagerdutyIncident"]) == incidents
    assert stack.resync_status() == "completed"
    assert faulty.seconds < 2 * clean.seconds, (faulty.seconds, clean.seconds)


def test_transient_faults_on_the_read_only_analytics_post_lose_nothing(
    stack: Stack,
) -> None:
    """The shipped mapping asks for service analytics, a POST that only reads.
    Ocean retries no POST by default: one 502 used to fail the services kind."""
    healthy(stack)
    services, _ = expected_ids(stack)
    stack.port.post("/_standin/reset")
    stack.pagerduty.post("/_sim/counters/reset")
    sim_config(stack, transient_failures={"/analytics": 2})

    run = once(stack, "analytics POST 502 twice")

    assert run.exit_code == 0, error_lines(run) or run.output[-3000:]
    journal = stack.pagerduty.get("/_sim/requests")["requests"]
    analytics = [r["status"] for r in journal if r["path"].startswith("/analytics")]
    assert analytics[:2] == [502, 502] and 200 in analytics[2:], analytics
    catalog = stack.catalog()["pagerdutyService"]
    assert set(catalog) == services
    assert any(
        e["properties"].get("meanSecondsToResolve") is not None
        for e in catalog.values()
    ), "analytics landed after the retries"


# ----------------------------------------------------------------- (2) permanent failure
def test_incidents_failing_for_good_keeps_everything_and_fails_the_run(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    sim_config(stack, fail_paths={"/incidents": 500})

    run = once(stack, "/incidents 500 forever")

    assert run.exit_code != 0
    assert run.seconds < FAST_FAIL_SECONDS
    assert content(stack) == good_catalog
    assert stack.resync_status() == "failed"
    errors = error_lines(run)
    assert "/incidents" in errors and "500" in errors, run.output[-3000:]


# ----------------------------------------------------------------- (3) bad configuration
class Html404(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def html_404_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html404)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def assert_failed_cleanly(
    stack: Stack, run: Run, before: dict[str, dict[str, Any]], *expected: str
) -> None:
    assert run.exit_code != 0, run.output[-3000:]
    assert run.seconds < FAST_FAIL_SECONDS
    assert content(stack) == before, "a failed run changed the catalog"
    errors = error_lines(run)
    for text in expected:
        assert text in errors, f"{text!r} not in the errors:\n{errors[-3000:]}"


def test_bad_token_says_which_setting_to_fix(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    run = once(
        stack, "401", OCEAN__INTEGRATION__CONFIG__TOKEN="wrong-token-fault-suite-0000"
    )
    assert_failed_cleanly(
        stack,
        run,
        good_catalog,
        "PagerDuty rejected",
        "OCEAN__INTEGRATION__CONFIG__TOKEN",
    )
    assert "wrong-token-fault-suite-0000" not in run.output


def test_token_without_scope_says_it_lacks_access(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    sim_config(stack, fail_paths={"/": 403})
    run = once(stack, "403")
    assert_failed_cleanly(stack, run, good_catalog, "403", "lacks the access")


def test_unreachable_api_url_names_the_setting(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    run = once(stack, "connection refused", OCEAN__INTEGRATION__CONFIG__API_URL=closed)
    assert_failed_cleanly(stack, run, good_catalog, "Could not reach", "apiUrl", closed)


def test_api_url_answering_an_html_404_names_the_setting(
    stack: Stack, good_catalog: dict[str, dict[str, Any]], html_404_url: str
) -> None:
    run = once(
        stack, "html 404", OCEAN__INTEGRATION__CONFIG__API_URL=f"{html_404_url}/nothing"
    )
    assert_failed_cleanly(
        stack, run, good_catalog, "does not look like PagerDuty", "apiUrl"
    )


def test_api_url_of_another_json_api_names_the_setting(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    """The Port stand-in answers unknown paths with a JSON 404 that is not
    PagerDuty's error shape: still the wrong apiUrl, not a missing object."""
    run = once(
        stack,
        "json 404",
        OCEAN__INTEGRATION__CONFIG__API_URL=f"{stack.port.url}/nothing",
    )
    assert_failed_cleanly(stack, run, good_catalog, "apiUrl")


def test_unknown_selector_key_names_the_key(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    set_integration_config(
        stack,
        lambda config: incidents_block(config)["selector"].update(
            {"apiQueryParams": {"statuse": ["triggered"]}}
        ),
    )
    run = once(stack, "unknown selector key")
    assert_failed_cleanly(stack, run, good_catalog, "statuse")


def test_invalid_jq_names_the_property_and_nulls_nothing(
    stack: Stack, good_catalog: dict[str, dict[str, Any]]
) -> None:
    set_integration_config(
        stack,
        lambda config: incidents_block(config)["port"]["entity"]["mappings"][
            "properties"
        ].update({"status": ".status |"}),
    )
    run = once(stack, "invalid jq")
    assert_failed_cleanly(
        stack, run, good_catalog, "properties.status", "'.status |'", "syntax error"
    )
    assert stack.resync_status() == "failed"


# ----------------------------------------------------------------- (4) secrets
def test_no_secret_appears_in_any_log_line() -> None:
    assert len(runs) >= 10, "run the whole module"
    for label, run in runs:
        for line in run.output.splitlines():
            for secret in SECRETS:
                assert secret not in line, f"{label}: secret logged: {line[:300]}"
