from datetime import UTC, datetime, timedelta
from typing import Any

from exporters.incidents import matches_selector
from integration import IncidentSelector


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def incident(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "triggered",
        "urgency": "high",
        "service": {"id": "S1"},
        "teams": [{"id": "T1"}],
        "assignments": [{"assignee": {"id": "U1"}}],
        "incident_key": "k",
        "created_at": iso(datetime.now(UTC) - timedelta(days=2)),
    }
    return base | fields


def selector(**options: Any) -> IncidentSelector:
    return IncidentSelector.parse_obj({"query": "true", **options})


def test_filters_of_the_block_decide() -> None:
    open_only = selector(apiQueryParams={"statuses": ["triggered", "acknowledged"]})
    assert matches_selector(incident(), open_only)
    assert not matches_selector(incident(status="resolved"), open_only)
    by_team = selector(apiQueryParams={"team_ids": ["T2"]})
    assert not matches_selector(incident(), by_team)
    by_user = selector(apiQueryParams={"user_ids": ["U1"], "service_ids": ["S1"]})
    assert matches_selector(incident(), by_user)


def test_created_window_of_the_block_decides() -> None:
    old = incident(created_at=iso(datetime.now(UTC) - timedelta(days=45)))
    assert not matches_selector(old, selector()), "outside PagerDuty's 30 days"
    assert matches_selector(old, selector(lookbackDays=60))
    assert matches_selector(old, selector(apiQueryParams={"date_range": "all"}))
