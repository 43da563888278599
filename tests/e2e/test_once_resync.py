"""A real `ocean sail` (ONCE) against the PagerDuty simulator and the Port stand-in."""

from typing import Any

from sandbox.stack import Run, Stack
from tests.e2e.conftest import pagerduty_list


def level_one_emails(stack: Stack) -> dict[str, str]:
    oncalls = pagerduty_list(stack, "/oncalls", "oncalls", **{"include[]": "users"})
    emails: dict[str, str] = {}
    for oncall in sorted(oncalls, key=lambda o: o["escalation_level"], reverse=True):
        emails[oncall["escalation_policy"]["id"]] = oncall["user"]["email"]
    return emails


def test_once_resync_lands_exactly_what_pagerduty_holds(
    stack: Stack, first_run: Run
) -> None:
    assert first_run.exit_code == 0, first_run.output[-3000:]
    assert stack.resync_status() == "completed"
    catalog = stack.catalog()
    services = pagerduty_list(stack, "/services", "services")
    incidents = pagerduty_list(stack, "/incidents", "incidents")
    assert len(incidents) > 0

    assert set(catalog["pagerdutyService"]) == {s["id"] for s in services}
    assert set(catalog["pagerdutyIncident"]) == {i["id"] for i in incidents}

    emails = level_one_emails(stack)
    for service in services:
        entity = catalog["pagerdutyService"][service["id"]]
        assert entity["title"] == service["name"]
        assert (
            entity["properties"]["oncall"] == emails[service["escalation_policy"]["id"]]
        )
        assert entity["properties"]["url"] == service["html_url"]
    for incident in incidents:
        entity = catalog["pagerdutyIncident"][incident["id"]]
        assert entity["relations"]["pagerdutyService"] == incident["service"]["id"]
        assert entity["properties"]["status"] == incident["status"]
        assert entity["properties"]["created_at"] == incident["created_at"]
    assert stack.port.get("/_standin/mismatches")["count"] == 0


def test_bad_token_fails_the_run_and_deletes_nothing(
    stack: Stack, first_run: Run
) -> None:
    before = stack.catalog()
    run = stack.run_once(
        {"OCEAN__INTEGRATION__CONFIG__TOKEN": "wrong-token-0000000000"}
    )

    assert run.exit_code != 0
    assert run.seconds < 60
    errors = [line for line in run.output.splitlines() if "PagerDuty rejected" in line]
    assert errors, run.output[-3000:]
    assert "OCEAN__INTEGRATION__CONFIG__TOKEN" in errors[0]
    assert "wrong-token-0000000000" not in run.output
    assert stack.catalog() == before
    assert stack.resync_status() == "failed"


def test_service_deleted_in_pagerduty_leaves_the_catalog(
    stack: Stack, first_run: Run
) -> None:
    catalog: dict[str, Any] = stack.catalog()
    # One no incident points at: Ocean rightly keeps a service that entities
    # still relate to (createMissingRelatedEntities).
    related = {
        e["relations"]["pagerdutyService"]
        for e in catalog["pagerdutyIncident"].values()
    }
    gone = sorted(set(catalog["pagerdutyService"]) - related)[0]
    assert stack.pagerduty.delete(f"/_sim/services/{gone}") < 300

    run = stack.run_once()

    assert run.exit_code == 0, run.output[-3000:]
    after = stack.catalog()
    assert gone not in after["pagerdutyService"]
    assert set(after["pagerdutyService"]) == set(catalog["pagerdutyService"]) - {gone}
    assert set(after["pagerdutyIncident"]) == set(catalog["pagerdutyIncident"])
