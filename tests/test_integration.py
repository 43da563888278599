from typing import Any

import httpx
import pytest
import respx
from pydantic.v1 import ValidationError

from client import PagerDutyClient
from exporters.incidents import IncidentExporter
from exporters.services import ServiceExporter
from integration import (
    IncidentResourceConfig,
    PagerDutyPortAppConfig,
    ServiceResourceConfig,
)

API = "https://api.pagerduty.com"

INCIDENT_PARAMS: dict[str, Any] = {
    "date_range": "all",
    "incident_key": "key-1",
    "include": ["assignees", "services"],
    "service_ids": ["S1", "S2"],
    "since": "2024-01-01T00:00:00Z",
    "sort_by": "created_at:desc",
    "statuses": ["triggered", "acknowledged"],
    "team_ids": ["T1"],
    "time_zone": "UTC",
    "until": "2024-02-01T00:00:00Z",
    "urgencies": ["high"],
    "user_ids": ["U1", "U2"],
}

SERVICE_PARAMS: dict[str, Any] = {
    "include": ["teams", "escalation_policies"],
    "sort_by": "name:desc",
    "team_ids": ["T1", "T2"],
    "time_zone": "Europe/Paris",
}


def resource(kind: str, selector: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "selector": {"query": "true", **selector},
        "port": {
            "entity": {
                "mappings": {"identifier": ".id", "blueprint": '"x"', "title": ".id"}
            }
        },
    }


def parse(*resources: dict[str, Any]) -> PagerDutyPortAppConfig:
    return PagerDutyPortAppConfig.parse_obj({"resources": list(resources)})


def wire(request: httpx.Request) -> dict[str, list[str]]:
    params = request.url.params
    return {key: params.get_list(key) for key in params}


@respx.mock
async def test_every_incident_query_key_reaches_the_wire() -> None:
    config = parse(resource("incidents", {"apiQueryParams": INCIDENT_PARAMS}))
    selector = config.resources[0].selector
    assert isinstance(config.resources[0], IncidentResourceConfig)
    route = respx.get(f"{API}/incidents").respond(
        json={"incidents": [{"id": "Q1"}], "more": False}
    )
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    pages = [p async for p in IncidentExporter(client).pages(selector)]  # type: ignore[arg-type]

    assert pages == [[{"id": "Q1"}]]
    sent = wire(route.calls.last.request)
    assert sent.pop("limit") == ["100"] and sent.pop("offset") == ["0"]
    assert sent.pop("total") == ["true"]
    # date_range=all wins over since/until, as in PagerDuty; the listing is read
    # oldest first (see pagination.py).
    assert sent == {
        "date_range": ["all"],
        "sort_by": ["created_at:asc"],
        "incident_key": ["key-1"],
        "include[]": ["assignees", "services"],
        "service_ids[]": ["S1", "S2"],
        "statuses[]": ["triggered", "acknowledged"],
        "team_ids[]": ["T1"],
        "time_zone": ["UTC"],
        "urgencies[]": ["high"],
        "user_ids[]": ["U1", "U2"],
    }


@respx.mock
async def test_since_until_and_sort_reach_the_wire_when_not_all_time() -> None:
    params = {k: v for k, v in INCIDENT_PARAMS.items() if k != "date_range"}
    config = parse(resource("incidents", {"apiQueryParams": params}))
    selector = config.resources[0].selector
    route = respx.get(f"{API}/incidents").respond(
        json={"incidents": [], "more": False, "total": 0}
    )
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    assert [p async for p in IncidentExporter(client).pages(selector)] == []  # type: ignore[arg-type]
    sent = wire(route.calls.last.request)
    assert sent["since"] == ["2024-01-01T00:00:00Z"]
    assert sent["until"] == ["2024-02-01T00:00:00Z"]
    assert sent["sort_by"] == ["created_at:desc"]
    assert "date_range" not in sent


@respx.mock
async def test_every_service_query_key_reaches_the_wire() -> None:
    config = parse(resource("services", {"apiQueryParams": SERVICE_PARAMS}))
    assert isinstance(config.resources[0], ServiceResourceConfig)
    route = respx.get(f"{API}/services").respond(
        json={"services": [{"id": "S1"}], "more": False}
    )
    respx.get(f"{API}/oncalls").respond(json={"oncalls": [], "more": False})
    analytics = {"service_id": "S1", "mean_seconds_to_resolve": 60}
    respx.post(f"{API}/analytics/metrics/incidents/services").respond(
        json={"data": [analytics]}
    )
    client = PagerDutyClient("t" * 20, API, http_client=httpx.AsyncClient())
    selector = config.resources[0].selector
    pages = [p async for p in ServiceExporter(client).pages(selector)]

    assert pages == [[{"id": "S1", "__oncall_user": [], "__analytics": analytics}]]
    sent = wire(route.calls.last.request)
    assert sent.pop("limit") == ["100"] and sent.pop("offset") == ["0"]
    assert sent.pop("total") == ["true"]
    assert sent == {
        "include[]": ["teams", "escalation_policies"],
        "sort_by": ["name:desc"],
        "team_ids[]": ["T1", "T2"],
        "time_zone": ["Europe/Paris"],
    }


@pytest.mark.parametrize(
    ("kind", "selector", "offending"),
    [
        ("incidents", {"apiQueryParams": {"statuse": ["resolved"]}}, "statuse"),
        ("services", {"apiQueryParams": {"statuses": ["resolved"]}}, "statuses"),
        ("services", {"serviceAnalytic": True}, "serviceAnalytic"),
        ("incidents", {"apiQueryParams": {"urgencies": ["medium"]}}, "urgencies"),
    ],
)
def test_unknown_or_invalid_selector_keys_are_rejected(
    kind: str, selector: dict[str, Any], offending: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        parse(resource(kind, selector))
    assert offending in str(raised.value)


def test_public_integration_selector_options_are_accepted() -> None:
    config = parse(
        resource(
            "services",
            {"serviceAnalytics": False, "analyticsMonthsPeriod": 6},
        ),
        resource("incidents", {"incidentAnalytics": True}),
    )
    kinds = [r.kind for r in config.resources]
    assert kinds == ["services", "incidents"]


def test_ocean_finds_the_integration_class() -> None:
    """Ocean looks the class up among integration.py's members and silently
    falls back to its BaseIntegration on any error: the typed selectors and the
    mapping guard would be gone without a word."""
    from port_ocean.utils.misc import get_integration_class

    from integration import PagerDutyIntegration
    from tests.conftest import ROOT

    found = get_integration_class(str(ROOT))
    assert found is not None and found.__name__ == PagerDutyIntegration.__name__
    assert found.EntityProcessorClass.__name__ == "GuardedJQEntityProcessor"
