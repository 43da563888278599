"""Incident analytics per service, in the shape of PagerDuty Analytics."""

from __future__ import annotations

from sandbox.pagerduty.store import JsonDict, PdStore


def service_incident_metrics(
    store: PdStore, incident_ids: list[str], service_ids: set[str] | None
) -> list[JsonDict]:
    """Per-service incident metrics in the shape of PagerDuty Analytics."""
    grouped: dict[str, list[str]] = {}
    for incident_id in incident_ids:
        service_id = store.incidents[incident_id]["service"]["id"]
        if service_ids is None or service_id in service_ids:
            grouped.setdefault(service_id, []).append(incident_id)
    rows = [
        _service_metrics(store, service_id, ids)
        for service_id, ids in sorted(grouped.items())
    ]
    # A metric with no data is left out: the schema does not allow null.
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def _mean(values: list[float]) -> int | None:
    return round(sum(values) / len(values)) if values else None


def _service_metrics(
    store: PdStore, service_id: str, incident_ids: list[str]
) -> JsonDict:
    times = [store.incident_times[incident_id] for incident_id in incident_ids]
    to_ack = [t.acknowledged - t.created for t in times if t.acknowledged is not None]
    to_engage = [t.engaged - t.created for t in times if t.engaged is not None]
    to_resolve = [t.resolved - t.created for t in times if t.resolved is not None]
    service = (
        store.services.get(service_id) or store.deleted_services.get(service_id) or {}
    )
    teams = service.get("teams") or [{"id": None, "summary": None}]
    majors = sum(
        1
        for i in incident_ids
        if (store.incidents[i].get("priority") or {}).get("name") == "P1"
    )
    return {
        "service_id": service_id,
        "service_name": service.get("name"),
        "team_id": teams[0]["id"],
        "team_name": teams[0]["summary"],
        "mean_seconds_to_resolve": _mean(to_resolve),
        "mean_seconds_to_first_ack": _mean(to_ack),
        "mean_seconds_to_engage": _mean(to_engage),
        "mean_seconds_to_mobilize": _mean(to_engage),
        "mean_engaged_seconds": _mean(
            [r - e for r, e in zip(to_resolve, to_engage, strict=False)]
        ),
        "mean_assignment_count": 1 if incident_ids else None,
        "total_incident_count": len(incident_ids),
        "total_incidents_acknowledged": len(to_ack),
        "total_major_incidents": majors,
        "total_notifications": len(incident_ids),
        "total_interruptions": len(incident_ids),
        "up_time_pct": 100.0,
    }
