"""The simulated account's objects and the indexes the API answers from."""

from __future__ import annotations

import bisect
import random
import string
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.pagerduty.schedules import Rotation

JsonDict = dict[str, Any]

DAY = 86400.0
ID_ALPHABET = string.ascii_uppercase + string.digits
COLLECTIONS = {
    "team": ("teams", "teams"),
    "user": ("users", "users"),
    "schedule": ("schedules", "schedules"),
    "escalation_policy": ("escalation_policies", "escalation_policies"),
    "service": ("services", "service-directory"),
    "incident": ("incidents", "incidents"),
    "business_service": ("business_services", "business-services"),
    "priority": ("priorities", "account/incident_priorities"),
    "override": ("overrides", "schedules"),
    "maintenance_window": ("maintenance_windows", "maintenance_windows"),
    "change_event": ("change_events", "change_events"),
}


def iso(ts: float) -> str:
    """Format a unix timestamp like PagerDuty does (UTC, second precision, Z)."""
    t = time.gmtime(ts)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"
    )


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode())


@dataclass(slots=True)
class IncidentTimes:
    """Internal timeline of an incident (unix seconds), used for analytics."""

    created: float
    acknowledged: float | None
    engaged: float | None
    resolved: float | None


class IdFactory:
    """Unique PagerDuty-looking ids ("P" + 6 uppercase alphanumerics)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def new(self, prefix: str = "P") -> str:
        while True:
            candidate = prefix + "".join(self._rng.choices(ID_ALPHABET, k=6))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate


@dataclass
class PdStore:
    """All simulated objects plus the indexes the API needs."""

    base_url: str
    html_base: str
    now_override: datetime | None = None
    teams: dict[str, JsonDict] = field(default_factory=dict)
    users: dict[str, JsonDict] = field(default_factory=dict)
    schedules: dict[str, JsonDict] = field(default_factory=dict)
    policies: dict[str, JsonDict] = field(default_factory=dict)
    services: dict[str, JsonDict] = field(default_factory=dict)
    priorities: dict[str, JsonDict] = field(default_factory=dict)
    business_services: dict[str, JsonDict] = field(default_factory=dict)
    incidents: dict[str, JsonDict] = field(default_factory=dict)
    incident_order: list[str] = field(default_factory=list)
    incident_ts: list[float] = field(default_factory=list)
    incident_times: dict[str, IncidentTimes] = field(default_factory=dict)
    rotations: dict[str, Rotation] = field(default_factory=dict)
    team_members: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    policy_users: dict[str, set[str]] = field(default_factory=dict)
    priority_snapshots: dict[str, JsonDict] = field(default_factory=dict)
    deleted_services: dict[str, JsonDict] = field(default_factory=dict)
    users_by_email: dict[str, str] = field(default_factory=dict)
    # The service graph (data_graph.py): dependency edges, windows, deploys.
    dependencies: list[JsonDict] = field(default_factory=list)
    maintenance_windows: dict[str, JsonDict] = field(default_factory=dict)
    change_events: list[JsonDict] = field(default_factory=list)
    next_incident_number: int = 1
    ids: IdFactory = field(default_factory=lambda: IdFactory(random.Random(0)))
    _refs: dict[str, JsonDict] = field(default_factory=dict)

    # ----------------------------------------------------------- basics
    def now(self) -> float:
        if self.now_override is not None:
            return self.now_override.timestamp()
        return datetime.now(UTC).timestamp()

    def links(self, kind: str, object_id: str) -> tuple[str, str]:
        api_path, html_path = COLLECTIONS[kind]
        return (
            f"{self.base_url}/{api_path}/{object_id}",
            f"{self.html_base}/{html_path}/{object_id}",
        )

    def base_object(self, kind: str, object_id: str, summary: str) -> JsonDict:
        self_url, html_url = self.links(kind, object_id)
        return {
            "id": object_id,
            "type": kind,
            "summary": summary,
            "self": self_url,
            "html_url": html_url,
        }

    def register_ref(self, obj: JsonDict) -> None:
        self._refs[obj["id"]] = {
            "id": obj["id"],
            "type": f"{obj['type']}_reference",
            "summary": obj["summary"],
            "self": obj["self"],
            "html_url": obj["html_url"],
        }

    def ref(self, object_id: str) -> JsonDict:
        """The shared (read-only!) reference dict for an object id."""
        return self._refs[object_id]

    def sorted_values(
        self, table: dict[str, JsonDict], key: str = "name"
    ) -> list[JsonDict]:
        return sorted(
            table.values(), key=lambda obj: (str(obj[key]).lower(), obj["id"])
        )

    # ----------------------------------------------------------- incidents
    def add_incident(self, incident: JsonDict, times: IncidentTimes) -> None:
        if not self.incident_ts or times.created >= self.incident_ts[-1]:
            self.incident_ts.append(times.created)
            self.incident_order.append(incident["id"])
        else:
            position = bisect.bisect_right(self.incident_ts, times.created)
            self.incident_ts.insert(position, times.created)
            self.incident_order.insert(position, incident["id"])
        self.incidents[incident["id"]] = incident
        self.incident_times[incident["id"]] = times
        self.register_ref(incident)

    def incident_ids_between(
        self, since: float | None, until: float | None
    ) -> list[str]:
        low = 0 if since is None else bisect.bisect_left(self.incident_ts, since)
        high = (
            len(self.incident_ts)
            if until is None
            else bisect.bisect_left(self.incident_ts, until)
        )
        return self.incident_order[low:high]

    def remove_service(self, service_id: str) -> bool:
        service = self.services.pop(service_id, None)
        if service is None:
            return False
        self.deleted_services[service_id] = service
        policy = self.policies.get(service["escalation_policy"]["id"])
        if policy is not None:
            policy["services"] = [
                ref for ref in policy["services"] if ref["id"] != service_id
            ]
        return True
