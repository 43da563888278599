import asyncio
import calendar
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from client import JSON, PagerDutyClient
from exporters.enrichment import attach_custom_fields, attach_incident_analytics
from integration import IncidentSelector
from pagination import (
    ALL_TIME,
    PAGERDUTY_DEFAULT_RANGE,
    OpenRange,
    Window,
    parse_time,
)


class IncidentExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: IncidentSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        for time_key in TIME_KEYS:
            params.pop(time_key, None)
        async for incidents in self.client.paginate_by_created_at(
            "/incidents", params, listing_range(selector)
        ):
            yield await self.enrich(incidents, selector)

    async def enrich(
        self, incidents: list[JSON], selector: IncidentSelector
    ) -> list[JSON]:
        if selector.incident_analytics:
            await attach_incident_analytics(self.client, incidents)
        if selector.include_custom_fields:
            await attach_custom_fields(self.client, incidents, "incidents")
        return incidents

    async def changed_since(
        self, cursor: datetime, selector: IncidentSelector
    ) -> AsyncIterator["IncidentChanges"]:
        """Incidents created or changed (status, notes, ...) since `cursor`, as a
        resync of this selector would have written them, and those that no
        longer belong to it (they must leave the block, as in a live event).

        PagerDuty cannot list incidents by update time; every change leaves a log
        entry, so the log names the incidents to re-read.
        """
        window = Window(cursor.replace(microsecond=0), datetime.now(UTC) + NOW_SLACK)
        changed: set[str] = set()
        async for entries in self.client.paginate_by_created_at(
            "/log_entries", {}, window
        ):
            changed.update(incident_ids_in(entries))
        ordered = sorted(changed)
        for start in range(0, len(ordered), INCREMENTAL_BATCH):
            batch = ordered[start : start + INCREMENTAL_BATCH]
            fetched = await asyncio.gather(*(self.one(i, selector) for i in batch))
            changes = IncidentChanges([], [])
            for incident_id, incident in zip(batch, fetched, strict=True):
                if incident is None:
                    changes.left.append(gone_incident(incident_id))
                elif matches_selector(incident, selector):
                    changes.kept.append(incident)
                else:
                    changes.left.append(incident)
            yield changes

    async def one(self, incident_id: str, selector: IncidentSelector) -> JSON | None:
        """The incident as a resync of this selector would have written it."""
        include = selector.api_query_params.include
        params = {"include[]": include} if include else None
        incident = await self.client.get_object(
            f"/incidents/{incident_id}", "incident", params
        )
        if incident is None:
            return None
        (enriched,) = await self.enrich([incident], selector)
        return enriched


TIME_KEYS = ("since", "until", "date_range")
# Used where a selector gives only one end of its range.
DEFAULT_SPAN = timedelta(days=30)
# Reach a little past "now" so incidents created during the resync are listed.
NOW_SLACK = timedelta(minutes=1)


def listing_range(selector: IncidentSelector) -> Window | OpenRange:
    """The created_at range a selector lists."""
    query = selector.api_query_params
    if query.date_range == "all":
        return ALL_TIME
    now = datetime.now(UTC).replace(microsecond=0)
    if query.since or query.until:
        since = parse_time(query.since) if query.since else None
        until = parse_time(query.until) if query.until else None
        since = since or (until - DEFAULT_SPAN if until else now)
        return Window(since, until or since + DEFAULT_SPAN)
    if selector.lookback_days:
        return Window(now - timedelta(days=selector.lookback_days), now + NOW_SLACK)
    return PAGERDUTY_DEFAULT_RANGE


def created_window(selector: IncidentSelector) -> Window | None:
    """The created_at range one incident must be in to belong to the block (None:
    any). For PagerDuty's default "1 month" it takes the longer reading."""
    listed = listing_range(selector)
    if listed is ALL_TIME:
        return None
    if isinstance(listed, OpenRange):
        now = datetime.now(UTC).replace(microsecond=0)
        return Window(longest_month_before(now), now + NOW_SLACK)
    return listed


def longest_month_before(now: datetime) -> datetime:
    """The earlier of "one calendar month ago" and "30 days ago"."""
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    day = min(now.day, calendar.monthrange(year, month)[1])
    return min(now.replace(year=year, month=month, day=day), now - DEFAULT_SPAN)


INCREMENTAL_BATCH = 100


@dataclass
class IncidentChanges:
    """One batch of changed incidents: those the block keeps, and those that left
    it (no longer matching its filters, or gone from PagerDuty)."""

    kept: list[JSON]
    left: list[JSON]


def gone_incident(incident_id: str) -> JSON:
    """What is left of an incident PagerDuty no longer has (as the webhook path
    reports it): its id, enough for an identifier mapped from `.id`."""
    return {"id": incident_id}


def incident_ids_in(log_entries: list[JSON]) -> set[str]:
    return {
        str(entry["incident"]["id"])
        for entry in log_entries
        if isinstance(entry.get("incident"), dict) and entry["incident"].get("id")
    }


def ids_of(references: list[JSON] | None) -> set[str]:
    return {str(ref.get("id")) for ref in references or []}


def matches_selector(incident: JSON, selector: IncidentSelector) -> bool:
    """Whether the List Incidents API with this selector's filters (and created_at
    window) would return it."""
    query = selector.api_query_params
    assignees = ids_of(
        [a.get("assignee") or {} for a in incident.get("assignments") or []]
    )
    checks: list[tuple[Sequence[str] | None, set[Any]]] = [
        (query.statuses, {incident.get("status")}),
        (query.urgencies, {incident.get("urgency")}),
        (query.service_ids, {(incident.get("service") or {}).get("id")}),
        (query.team_ids, ids_of(incident.get("teams"))),
        (query.user_ids, assignees),
        (
            [query.incident_key] if query.incident_key else None,
            {incident.get("incident_key")},
        ),
    ]
    window = created_window(selector)
    created_at = incident.get("created_at")
    if (
        window
        and isinstance(created_at, str)
        and not window.holds(parse_time(created_at))
    ):
        return False
    return all(not wanted or bool(set(wanted) & actual) for wanted, actual in checks)
