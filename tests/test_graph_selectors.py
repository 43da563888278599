"""Selectors of the service-graph kinds: typed, strict, with their defaults."""

from typing import Any

import pytest
from pydantic.v1 import ValidationError

from integration import (
    BusinessServiceSelector,
    ChangeEventSelector,
    CustomSelector,
    MaintenanceWindowSelector,
    PagerDutyPortAppConfig,
    PrioritySelector,
    ServiceSelector,
)


def resource(kind: str, selector: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "selector": {"query": "true", **selector},
        "port": {"entity": {"mappings": {"identifier": ".id", "blueprint": '"x"'}}},
    }


def selector_of(kind: str, selector: dict[str, Any] | None = None) -> Any:
    config = PagerDutyPortAppConfig.parse_obj(
        {"resources": [resource(kind, selector or {})]}
    )
    return config.resources[0].selector


def test_each_kind_parses_to_its_own_selector_with_its_defaults() -> None:
    business = selector_of("business_services")
    assert type(business) is BusinessServiceSelector
    assert business.include_dependencies is False
    assert business.api_query_params.to_request_params() == {}

    windows = selector_of("maintenance_windows")
    assert type(windows) is MaintenanceWindowSelector
    assert windows.api_query_params.to_request_params() == {}

    events = selector_of("change_events")
    assert type(events) is ChangeEventSelector
    assert events.lookback_days == 7

    assert type(selector_of("priorities")) is PrioritySelector

    services = selector_of("services")
    assert type(services) is ServiceSelector
    assert services.include_dependencies is False  # opt-in: one request per service
    assert services.include_maintenance_windows is False


def test_options_reach_the_selectors_and_the_wire() -> None:
    assert selector_of(
        "business_services", {"includeDependencies": True}
    ).include_dependencies
    services = selector_of(
        "services", {"includeDependencies": True, "includeMaintenanceWindows": True}
    )
    assert services.include_dependencies and services.include_maintenance_windows
    windows = selector_of(
        "maintenance_windows",
        {
            "apiQueryParams": {
                "filter": "open",
                "include": ["services", "teams"],
                "service_ids": ["S1"],
                "team_ids": ["T1"],
                "query": "db",
            }
        },
    )
    assert windows.api_query_params.to_request_params() == {
        "filter": "open",
        "include[]": ["services", "teams"],
        "service_ids[]": ["S1"],
        "team_ids[]": ["T1"],
        "query": "db",
    }
    events = selector_of(
        "change_events",
        {
            "lookbackDays": 30,
            "apiQueryParams": {"team_ids": ["T1"], "integration_ids": ["I1"]},
        },
    )
    assert events.lookback_days == 30
    assert events.api_query_params.to_request_params() == {
        "team_ids[]": ["T1"],
        "integration_ids[]": ["I1"],
    }


@pytest.mark.parametrize(
    ("kind", "selector", "offending"),
    [
        ("business_services", {"includeDependency": True}, "includeDependency"),
        ("business_services", {"apiQueryParams": {"include": ["x"]}}, "include"),
        (
            "business_services",
            {"includeDependencies": "sometimes"},
            "includeDependencies",
        ),
        ("maintenance_windows", {"apiQueryParams": {"filter": "soon"}}, "filter"),
        ("maintenance_windows", {"apiQueryParams": {"include": ["x"]}}, "include"),
        ("maintenance_windows", {"apiQueryParams": {"statuses": ["x"]}}, "statuses"),
        ("maintenance_windows", {"lookbackDays": 3}, "lookbackDays"),
        ("change_events", {"lookbackDays": 0}, "lookbackDays"),
        ("change_events", {"lookbackDays": 4000}, "lookbackDays"),
        ("change_events", {"apiQueryParams": {"since": "2024-01-01"}}, "since"),
        ("change_events", {"apiQueryParams": {"service_ids": ["S1"]}}, "service_ids"),
        ("priorities", {"apiQueryParams": {"limit": 5}}, "limit"),
        ("priorities", {"includeDependencies": True}, "includeDependencies"),
        ("services", {"includeDependency": True}, "includeDependency"),
        (
            "services",
            {"includeMaintenanceWindows": "sometimes"},
            "includeMaintenanceWindows",
        ),
    ],
)
def test_unknown_or_invalid_keys_are_refused_by_name(
    kind: str, selector: dict[str, Any], offending: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        selector_of(kind, selector)
    assert offending in str(raised.value)


def test_other_kinds_stay_custom_list_endpoints() -> None:
    tags = selector_of("tags", {"apiQueryParams": {"include": ["anything"]}})
    assert type(tags) is CustomSelector
    assert tags.api_query_params.to_request_params() == {"include[]": ["anything"]}
