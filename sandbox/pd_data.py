"""Deterministic PagerDuty-shaped data for the local simulator.

Everything is generated from one ``random.Random(seed)`` so the same seed
yields the same ids, names and relative timestamps.  Only the wall-clock
anchor (``now``) moves unless it is pinned.
"""

from __future__ import annotations

import bisect
import gc
import math
import random
import string
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

DAY = 86400.0
WEEK = 7 * DAY
ROTATION_ANCHOR = datetime(1970, 1, 5, tzinfo=UTC).timestamp()  # a Monday
ID_ALPHABET = string.ascii_uppercase + string.digits
INCIDENT_SPAN_DAYS = 730
RECENT_DAYS = 7

FIRST_NAMES = [
    "Ada",
    "Alan",
    "Alice",
    "Amir",
    "Ana",
    "Ben",
    "Bianca",
    "Carla",
    "Chen",
    "Dana",
    "Diego",
    "Eli",
    "Emma",
    "Farah",
    "Finn",
    "Grace",
    "Hana",
    "Ivan",
    "Jade",
    "Jonas",
    "Kai",
    "Lara",
    "Leo",
    "Maya",
    "Mina",
    "Noah",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Sara",
    "Theo",
    "Uma",
    "Vera",
    "Wen",
    "Yara",
    "Zoe",
]
LAST_NAMES = [
    "Abbott",
    "Baker",
    "Castro",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Young",
    "Zimmer",
]
TIME_ZONES = (
    "Etc/UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Asia/Jerusalem",
)
USER_ROLES = ("admin", "user", "user", "user", "limited_user", "observer")
TEAM_WORDS = [
    "Platform",
    "Payments",
    "Search",
    "Identity",
    "Mobile",
    "Data",
    "Infra",
    "Growth",
    "Checkout",
    "Messaging",
    "Storage",
    "Billing",
    "Security",
    "Edge",
    "Analytics",
    "Core",
]
SERVICE_WORDS = [
    "api",
    "gateway",
    "worker",
    "cache",
    "db",
    "queue",
    "auth",
    "billing",
    "search",
    "web",
    "ledger",
    "scheduler",
    "notifier",
    "indexer",
    "proxy",
    "frontend",
    "reports",
    "export",
]
PROBLEMS = (
    "High error rate",
    "Latency above SLO",
    "Disk almost full",
    "Health check failing",
    "CPU saturation",
    "Memory leak suspected",
    "Certificate expiring",
    "Queue backlog growing",
    "Replica lag",
    "5xx spike",
)
SERVICE_STATUSES = (
    "active",
    "active",
    "active",
    "warning",
    "critical",
    "maintenance",
    "disabled",
)
PRIORITY_SPECS = (
    ("P1", "a8171c", "Critical: all hands"),
    ("P2", "eb6016", "High impact"),
    ("P3", "f9b406", "Moderate impact"),
    ("P4", "0a7f8c", "Low impact"),
    ("P5", "495057", "Informational"),
)


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


@dataclass(slots=True)
class Rotation:
    """A weekly rotation over a schedule's users."""

    user_ids: list[str]
    offset: int

    def user_at(self, ts: float) -> str:
        week = math.floor((ts - ROTATION_ANCHOR) / WEEK)
        return self.user_ids[(week + self.offset) % len(self.user_ids)]


def rotation_window(ts: float) -> tuple[float, float]:
    week = math.floor((ts - ROTATION_ANCHOR) / WEEK)
    start = ROTATION_ANCHOR + week * WEEK
    return start, start + WEEK


@dataclass
class DataSizes:
    services: int = 20
    incidents: int = 200
    teams: int = 4
    users: int = 30


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


COLLECTIONS = {
    "team": ("teams", "teams"),
    "user": ("users", "users"),
    "schedule": ("schedules", "schedules"),
    "escalation_policy": ("escalation_policies", "escalation_policies"),
    "service": ("services", "service-directory"),
    "incident": ("incidents", "incidents"),
    "business_service": ("business_services", "business-services"),
    "priority": ("priorities", "account/incident_priorities"),
}


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
    next_incident_number: int = 1
    ids: IdFactory = field(default_factory=lambda: IdFactory(random.Random(0)))
    _refs: dict[str, JsonDict] = field(default_factory=dict)
    _oncall_cache: dict[float, list[JsonDict]] = field(default_factory=dict)

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

    # ----------------------------------------------------------- on-call
    def oncall_user_for_policy(self, policy_id: str, ts: float) -> str:
        rule = self.policies[policy_id]["escalation_rules"][0]
        return self.target_user(rule["targets"][0], ts)

    def target_user(self, target: JsonDict, ts: float) -> str:
        if target["type"] == "schedule_reference":
            return self.rotations[target["id"]].user_at(ts)
        return str(target["id"])

    def oncalls(self, ts: float) -> list[JsonDict]:
        """On-call entries at ``ts`` for every policy, level and target.

        Rotations are weekly and policies never change at runtime, so the
        list is cached per rotation week.
        """
        week = rotation_window(ts)[0]
        cached = self._oncall_cache.get(week)
        if cached is None:
            cached = self._build_oncalls(ts)
            self._oncall_cache = {week: cached}
        return cached

    def _build_oncalls(self, ts: float) -> list[JsonDict]:
        entries: list[JsonDict] = []
        for policy in self.sorted_values(self.policies):
            for level, rule in enumerate(policy["escalation_rules"], start=1):
                for target in rule["targets"]:
                    entries.append(self._oncall_entry(policy, level, target, ts))
        return entries

    def _oncall_entry(
        self, policy: JsonDict, level: int, target: JsonDict, ts: float
    ) -> JsonDict:
        is_schedule = target["type"] == "schedule_reference"
        start: str | None = None
        end: str | None = None
        if is_schedule:
            window = rotation_window(ts)
            start, end = iso(window[0]), iso(window[1])
        return {
            "escalation_policy": self.ref(policy["id"]),
            "escalation_level": level,
            "schedule": self.ref(target["id"]) if is_schedule else None,
            "user": self.ref(self.target_user(target, ts)),
            "start": start,
            "end": end,
        }

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


# =================================================================== builder
class DataBuilder:
    """Builds a PdStore; each ``build_*`` step relies on the previous ones."""

    def __init__(self, seed: int, sizes: DataSizes, store: PdStore) -> None:
        self.rng = random.Random(seed)
        self.sizes = sizes
        self.store = store
        store.ids = IdFactory(self.rng)
        self.now = store.now()

    def build(self) -> PdStore:
        self.build_teams()
        self.build_users()
        self.build_schedules_and_policies()
        self.build_services()
        self.build_priorities()
        self.build_business_services()
        self.build_incidents()
        return self.store

    # ----------------------------------------------------------- teams/users
    def build_teams(self) -> None:
        for index in range(max(1, self.sizes.teams)):
            word = TEAM_WORDS[index % len(TEAM_WORDS)]
            suffix = (
                "" if index < len(TEAM_WORDS) else f" {index // len(TEAM_WORDS) + 1}"
            )
            name = f"{word}{suffix}"
            team = self.store.base_object("team", self.store.ids.new(), name)
            team.update(
                {
                    "name": name,
                    "description": f"The {name} team",
                    "parent": None,
                    "default_role": "manager",
                }
            )
            self.store.teams[team["id"]] = team
            self.store.register_ref(team)
            self.store.team_members[team["id"]] = []

    def build_users(self) -> None:
        team_ids = list(self.store.teams)
        emails: set[str] = set()
        for _ in range(max(1, self.sizes.users)):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            user = self.store.base_object(
                "user", self.store.ids.new(), f"{first} {last}"
            )
            user_teams = self.rng.sample(
                team_ids, k=min(len(team_ids), self.rng.choice((1, 1, 2)))
            )
            user.update(
                self._user_fields(
                    first, last, self._unique_email(first, last, emails), user_teams
                )
            )
            self.store.users[user["id"]] = user
            self.store.register_ref(user)
            for team_id in user_teams:
                role = (
                    "manager" if not self.store.team_members[team_id] else "responder"
                )
                self.store.team_members[team_id].append((user["id"], role))

    @staticmethod
    def _unique_email(first: str, last: str, taken: set[str]) -> str:
        base = f"{first}.{last}".lower()
        email, counter = f"{base}@example.com", 1
        while email in taken:
            counter += 1
            email = f"{base}{counter}@example.com"
        taken.add(email)
        return email

    def _user_fields(
        self, first: str, last: str, email: str, team_ids: list[str]
    ) -> JsonDict:
        return {
            "name": f"{first} {last}",
            "email": email,
            "time_zone": self.rng.choice(TIME_ZONES),
            "color": self.rng.choice(("purple", "green", "red", "teal", "orange")),
            "role": self.rng.choice(USER_ROLES),
            "avatar_url": f"https://secure.gravatar.com/avatar/{stable_hash(email):08x}.png",
            "description": None,
            "invitation_sent": False,
            "job_title": self.rng.choice(
                ("SRE", "Engineer", "Manager", "Developer", None)
            ),
            "teams": [self.store.ref(team_id) for team_id in team_ids],
            "contact_methods": [],
            "notification_rules": [],
        }

    # ----------------------------------------------------------- schedules/EPs
    def build_schedules_and_policies(self) -> None:
        count = max(1, math.ceil(self.sizes.services / 3))
        for index in range(count):
            team_id = self.rng.choice(list(self.store.teams))
            schedule = self._build_schedule(index, team_id)
            self._build_policy(index, team_id, schedule)

    def _team_user_pool(self, team_id: str) -> list[str]:
        members = [user_id for user_id, _ in self.store.team_members[team_id]]
        return members if len(members) >= 2 else list(self.store.users)

    def _build_schedule(self, index: int, team_id: str) -> JsonDict:
        team_name = self.store.teams[team_id]["name"]
        name = f"{team_name} Primary Rotation {index + 1:03d}"
        schedule = self.store.base_object("schedule", self.store.ids.new(), name)
        pool = self._team_user_pool(team_id)
        user_ids = self.rng.sample(pool, k=min(len(pool), self.rng.randint(2, 4)))
        schedule.update(
            {
                "name": name,
                "description": f"Weekly rotation for {team_name}",
                "time_zone": self.rng.choice(TIME_ZONES),
                "users": [self.store.ref(user_id) for user_id in user_ids],
                "escalation_policies": [],
                "teams": [self.store.ref(team_id)],
            }
        )
        self.store.schedules[schedule["id"]] = schedule
        self.store.register_ref(schedule)
        self.store.rotations[schedule["id"]] = Rotation(
            user_ids, self.rng.randrange(len(user_ids))
        )
        return schedule

    def _build_policy(self, index: int, team_id: str, schedule: JsonDict) -> None:
        team_name = self.store.teams[team_id]["name"]
        name = f"{team_name} Escalation {index + 1:03d}"
        policy = self.store.base_object("escalation_policy", self.store.ids.new(), name)
        policy.update(
            {
                "name": name,
                "description": f"Escalation policy for {team_name}",
                "num_loops": self.rng.choice((0, 1, 2)),
                "on_call_handoff_notifications": "if_has_services",
                "escalation_rules": self._escalation_rules(schedule),
                "services": [],
                "teams": [self.store.ref(team_id)],
            }
        )
        self.store.policies[policy["id"]] = policy
        self.store.register_ref(policy)
        schedule["escalation_policies"].append(self.store.ref(policy["id"]))
        self.store.policy_users[policy["id"]] = self._policy_user_ids(policy)

    def _escalation_rules(self, schedule: JsonDict) -> list[JsonDict]:
        targets: list[list[JsonDict]] = [[self.store.ref(schedule["id"])]]
        for _ in range(self.rng.randint(0, 2)):
            targets.append([self.store.ref(self.rng.choice(list(self.store.users)))])
        return [
            {
                "id": self.store.ids.new(),
                "escalation_delay_in_minutes": self.rng.choice((5, 10, 15, 30)),
                "targets": rule_targets,
            }
            for rule_targets in targets
        ]

    def _policy_user_ids(self, policy: JsonDict) -> set[str]:
        user_ids: set[str] = set()
        for rule in policy["escalation_rules"]:
            for target in rule["targets"]:
                if target["type"] == "schedule_reference":
                    user_ids.update(self.store.rotations[target["id"]].user_ids)
                else:
                    user_ids.add(target["id"])
        return user_ids

    # ----------------------------------------------------------- services
    def build_services(self) -> None:
        policy_ids = list(self.store.policies)
        for index in range(max(1, self.sizes.services)):
            policy = self.store.policies[policy_ids[index % len(policy_ids)]]
            service = self._build_service(index, policy)
            self.store.services[service["id"]] = service
            self.store.register_ref(service)
            policy["services"].append(self.store.ref(service["id"]))

    def _build_service(self, index: int, policy: JsonDict) -> JsonDict:
        name = f"{self.rng.choice(SERVICE_WORDS)}-{self.rng.choice(SERVICE_WORDS)}-{index + 1:04d}"
        service = self.store.base_object("service", self.store.ids.new(), name)
        created = self.now - self.rng.uniform(800, 1500) * DAY
        updated = created + self.rng.uniform(0, 700) * DAY
        service.update(
            {
                "name": name,
                "description": f"Runs the {name} workload",
                "auto_resolve_timeout": self.rng.choice((None, 14400)),
                "acknowledgement_timeout": self.rng.choice((None, 1800)),
                "created_at": iso(created),
                "updated_at": iso(updated),
                "status": self.rng.choice(SERVICE_STATUSES),
                "last_incident_timestamp": None,
                "escalation_policy": self.store.ref(policy["id"]),
                "teams": list(policy["teams"]),
                "integrations": [],
                "incident_urgency_rule": {"type": "constant", "urgency": "high"},
                "support_hours": None,
                "scheduled_actions": [],
                "alert_creation": "create_alerts_and_incidents",
                "alert_grouping_parameters": {"type": None},
                "response_play": None,
            }
        )
        return service

    # ----------------------------------------------------------- priorities etc.
    def build_priorities(self) -> None:
        for order, (name, color, description) in enumerate(PRIORITY_SPECS, start=1):
            priority = self.store.base_object("priority", self.store.ids.new(), name)
            priority.update(
                {
                    "name": name,
                    "description": description,
                    "color": color,
                    "order": (len(PRIORITY_SPECS) - order + 1) * 256,
                    "account_id": "PSANDBX",
                    "schema_version": 0,
                }
            )
            self.store.priorities[priority["id"]] = priority
            self.store.register_ref(priority)

    def build_business_services(self) -> None:
        for team in self.store.sorted_values(self.store.teams):
            name = f"{team['name']} Customer Experience"
            business = self.store.base_object(
                "business_service", self.store.ids.new(), name
            )
            business.update(
                {
                    "name": name,
                    "description": f"What customers of {team['name']} see",
                    "point_of_contact": f"{team['name'].lower().replace(' ', '-')}@example.com",
                    "team": self.store.ref(team["id"]),
                }
            )
            self.store.business_services[business["id"]] = business
            self.store.register_ref(business)

    # ----------------------------------------------------------- incidents
    def build_incidents(self) -> None:
        span = INCIDENT_SPAN_DAYS * DAY
        created = sorted(
            self.now - self.rng.random() * span for _ in range(self.sizes.incidents)
        )
        services = list(self.store.services.values())
        priorities = list(self.store.priorities.values())
        for created_ts in created:
            service = self.rng.choice(services)
            incident, times = self._build_incident(created_ts, service, priorities)
            self.store.add_incident(incident, times)
            service["last_incident_timestamp"] = incident["created_at"]

    def _pick_status(self, created_ts: float) -> str:
        if self.now - created_ts > RECENT_DAYS * DAY:
            return "resolved"
        return self.rng.choices(
            ("triggered", "acknowledged", "resolved"), weights=(3, 3, 4)
        )[0]

    def _timeline(self, created_ts: float, status: str) -> IncidentTimes:
        ack = created_ts + self.rng.uniform(30, 3600)
        engaged = ack + self.rng.uniform(0, 1800)
        resolved = ack + self.rng.uniform(300, 2 * DAY)
        latest = self.now - 1
        if status == "triggered":
            return IncidentTimes(created_ts, None, None, None)
        if status == "acknowledged":
            ack = min(ack, latest)
            return IncidentTimes(created_ts, ack, min(engaged, latest), None)
        return IncidentTimes(
            created_ts,
            min(ack, latest),
            min(engaged, latest),
            max(created_ts, min(resolved, latest)),
        )

    def _build_incident(
        self, created_ts: float, service: JsonDict, priorities: list[JsonDict]
    ) -> tuple[JsonDict, IncidentTimes]:
        status = self._pick_status(created_ts)
        times = self._timeline(created_ts, status)
        title = f"{self.rng.choice(PROBLEMS)} on {service['name']}"
        priority = None if self.rng.random() < 0.4 else self.rng.choice(priorities)
        incident = build_incident_object(
            self.store,
            IncidentSpec(
                incident_id=self.store.ids.new(),
                number=self.store.next_incident_number,
                title=title,
                service_id=service["id"],
                status=status,
                urgency="high" if self.rng.random() < 0.6 else "low",
                priority_id=None if priority is None else priority["id"],
                incident_key=f"{self.rng.getrandbits(128):032x}",
            ),
            times,
        )
        self.store.next_incident_number += 1
        return incident, times


@dataclass
class IncidentSpec:
    incident_id: str
    number: int
    title: str
    service_id: str
    status: str
    urgency: str
    priority_id: str | None
    incident_key: str


def build_incident_object(
    store: PdStore, spec: IncidentSpec, times: IncidentTimes
) -> JsonDict:
    service = store.services[spec.service_id]
    incident = store.base_object(
        "incident", spec.incident_id, f"[#{spec.number}] {spec.title}"
    )
    incident.update(
        {
            "incident_number": spec.number,
            "title": spec.title,
            "description": spec.title,
            "created_at": iso(times.created),
            "status": spec.status,
            "incident_key": spec.incident_key,
            "service": store.ref(spec.service_id),
            "assigned_via": "escalation_policy",
            "escalation_policy": store.ref(service["escalation_policy"]["id"]),
            "teams": list(service["teams"]),
            "priority": (
                None
                if spec.priority_id is None
                else priority_snapshot(store, spec.priority_id)
            ),
            "urgency": spec.urgency,
            "first_trigger_log_entry": trigger_log_ref(store, spec.incident_id),
            "alert_counts": {"all": 1, "triggered": 0, "resolved": 0},
            "pending_actions": [],
            "is_mergeable": True,
            "conference_bridge": None,
            "resolve_reason": None,
            "incidents_responders": [],
            "responder_requests": [],
            "basic_alert_grouping": None,
            "alert_grouping": None,
        }
    )
    apply_status(store, incident, times, spec.status)
    return incident


PRIORITY_SNAPSHOT_KEYS = (
    "id",
    "type",
    "summary",
    "self",
    "html_url",
    "name",
    "color",
    "description",
    "order",
)


def priority_snapshot(store: PdStore, priority_id: str) -> JsonDict:
    """The (shared, read-only) priority object embedded in incidents."""
    cached = store.priority_snapshots.get(priority_id)
    if cached is None:
        priority = store.priorities[priority_id]
        cached = {key: priority[key] for key in PRIORITY_SNAPSHOT_KEYS}
        store.priority_snapshots[priority_id] = cached
    return cached


def trigger_log_ref(store: PdStore, incident_id: str) -> JsonDict:
    log_id = f"R{incident_id[1:]}TRIGGER"
    return {
        "id": log_id,
        "type": "trigger_log_entry_reference",
        "summary": "Triggered through the API.",
        "self": f"{store.base_url}/log_entries/{log_id}",
        "html_url": f"{store.html_base}/incidents/{incident_id}/log_entries/{log_id}",
    }


def apply_status(
    store: PdStore, incident: JsonDict, times: IncidentTimes, status: str
) -> None:
    """Set status-dependent fields of ``incident`` from its timeline."""
    assignee = store.oncall_user_for_policy(
        incident["escalation_policy"]["id"], times.created
    )
    created = iso(times.created)
    incident["status"] = status
    incident["assignments"] = (
        []
        if status == "resolved"
        else [{"at": created, "assignee": store.ref(assignee)}]
    )
    incident["acknowledgements"] = []
    incident["resolved_at"] = None
    incident["alert_counts"] = {"all": 1, "triggered": 1, "resolved": 0}
    changed, changed_by = times.created, store.ref(incident["service"]["id"])
    if status == "acknowledged" and times.acknowledged is not None:
        changed, changed_by = times.acknowledged, store.ref(assignee)
        incident["acknowledgements"] = [
            {"at": iso(changed), "acknowledger": store.ref(assignee)}
        ]
    if status == "resolved" and times.resolved is not None:
        changed, changed_by = times.resolved, store.ref(assignee)
        incident["resolved_at"] = iso(changed)
        incident["alert_counts"] = {"all": 1, "triggered": 0, "resolved": 1}
    incident["last_status_change_at"] = iso(changed)
    incident["last_status_change_by"] = changed_by
    incident["updated_at"] = iso(changed)


def generate(
    seed: int,
    sizes: DataSizes,
    base_url: str,
    html_base: str = "https://sandbox.pagerduty.local",
    now: datetime | None = None,
) -> PdStore:
    """Generate a complete, internally consistent data set."""
    store = PdStore(
        base_url=base_url.rstrip("/"), html_base=html_base.rstrip("/"), now_override=now
    )
    gc_was_enabled = gc.isenabled()
    gc.disable()  # generation allocates ~1M long-lived objects; cyclic GC only slows it down
    try:
        return DataBuilder(seed, sizes, store).build()
    finally:
        if gc_was_enabled:
            gc.enable()


# =================================================================== views
def expand_refs(table: dict[str, JsonDict], refs: list[JsonDict]) -> list[JsonDict]:
    return [table.get(ref["id"], ref) for ref in refs]


def trigger_log_entry(store: PdStore, incident: JsonDict) -> JsonDict:
    ref = incident["first_trigger_log_entry"]
    return {
        **ref,
        "type": "trigger_log_entry",
        "created_at": incident["created_at"],
        "agent": incident["service"],
        "channel": {"type": "api", "summary": incident["title"]},
        "service": incident["service"],
        "incident": store.ref(incident["id"]),
        "teams": incident["teams"],
        "contexts": [],
        "event_details": {"description": incident["title"]},
    }


def expand_incident(store: PdStore, incident: JsonDict, includes: set[str]) -> JsonDict:
    """Apply PagerDuty ``include[]`` expansion to a copy of an incident."""
    if not includes:
        return incident
    out = dict(incident)
    if "services" in includes:
        out["service"] = store.services.get(
            incident["service"]["id"], incident["service"]
        )
    if "assignees" in includes:
        out["assignments"] = [
            {
                "at": item["at"],
                "assignee": store.users.get(item["assignee"]["id"], item["assignee"]),
            }
            for item in incident["assignments"]
        ]
    if "teams" in includes:
        out["teams"] = expand_refs(store.teams, incident["teams"])
    if "escalation_policies" in includes:
        policy_ref = incident["escalation_policy"]
        out["escalation_policy"] = store.policies.get(policy_ref["id"], policy_ref)
    if "first_trigger_log_entries" in includes:
        out["first_trigger_log_entry"] = trigger_log_entry(store, incident)
    if "priorities" in includes and incident["priority"] is not None:
        out["priority"] = store.priorities.get(
            incident["priority"]["id"], incident["priority"]
        )
    return out


def expand_service(store: PdStore, service: JsonDict, includes: set[str]) -> JsonDict:
    if not includes:
        return service
    out = dict(service)
    if "escalation_policies" in includes:
        policy_ref = service["escalation_policy"]
        out["escalation_policy"] = store.policies.get(policy_ref["id"], policy_ref)
    if "teams" in includes:
        out["teams"] = expand_refs(store.teams, service["teams"])
    return out


def expand_policy(store: PdStore, policy: JsonDict, includes: set[str]) -> JsonDict:
    if not includes:
        return policy
    out = dict(policy)
    if "services" in includes:
        out["services"] = expand_refs(store.services, policy["services"])
    if "teams" in includes:
        out["teams"] = expand_refs(store.teams, policy["teams"])
    if "targets" in includes:
        out["escalation_rules"] = [
            {
                **rule,
                "targets": [
                    _expand_target(store, target) for target in rule["targets"]
                ],
            }
            for rule in policy["escalation_rules"]
        ]
    return out


def _expand_target(store: PdStore, target: JsonDict) -> JsonDict:
    table = store.schedules if target["type"] == "schedule_reference" else store.users
    return table.get(target["id"], target)


def expand_user(store: PdStore, user: JsonDict, includes: set[str]) -> JsonDict:
    if "teams" not in includes:
        return user
    return {**user, "teams": expand_refs(store.teams, user["teams"])}


def expand_schedule(store: PdStore, schedule: JsonDict, includes: set[str]) -> JsonDict:
    if not includes:
        return schedule
    out = dict(schedule)
    if "users" in includes:
        out["users"] = expand_refs(store.users, schedule["users"])
    if "escalation_policies" in includes:
        out["escalation_policies"] = expand_refs(
            store.policies, schedule["escalation_policies"]
        )
    if "teams" in includes:
        out["teams"] = expand_refs(store.teams, schedule["teams"])
    return out


def expand_oncall(store: PdStore, oncall: JsonDict, includes: set[str]) -> JsonDict:
    if not includes:
        return oncall
    out = dict(oncall)
    if "users" in includes:
        out["user"] = store.users.get(oncall["user"]["id"], oncall["user"])
    if "escalation_policies" in includes:
        out["escalation_policy"] = store.policies.get(
            oncall["escalation_policy"]["id"], oncall["escalation_policy"]
        )
    if "schedules" in includes and oncall["schedule"] is not None:
        out["schedule"] = store.schedules.get(
            oncall["schedule"]["id"], oncall["schedule"]
        )
    return out


# =================================================================== custom fields
CUSTOM_FIELD_SPECS = (
    ("environment", "Environment", ("production", "staging", "development")),
    ("region", "Region", ("us-east-1", "eu-west-1", "ap-south-1")),
    ("customer_impact", "Customer impact", ("none", "partial", "full")),
)


def custom_field_values(object_id: str, names: tuple[str, ...]) -> list[JsonDict]:
    values = []
    for name, display_name, choices in CUSTOM_FIELD_SPECS:
        if name not in names:
            continue
        values.append(
            {
                "id": f"F{stable_hash(name):06X}"[:7],
                "type": "field_value",
                "name": name,
                "display_name": display_name,
                "description": f"{display_name} of the affected system",
                "data_type": "string",
                "field_type": "single_value_fixed",
                "value": choices[stable_hash(object_id + name) % len(choices)],
            }
        )
    return values


# =================================================================== webhooks
def incident_webhook_data(store: PdStore, incident: JsonDict) -> JsonDict:
    """The incident representation PagerDuty V3 webhooks carry."""
    priority = incident["priority"]
    return {
        "id": incident["id"],
        "type": "incident",
        "self": incident["self"],
        "html_url": incident["html_url"],
        "number": incident["incident_number"],
        "status": incident["status"],
        "incident_key": incident["incident_key"],
        "created_at": incident["created_at"],
        "title": incident["title"],
        "service": incident["service"],
        "assignees": [item["assignee"] for item in incident["assignments"]],
        "escalation_policy": incident["escalation_policy"],
        "teams": incident["teams"],
        "priority": None if priority is None else {**store.ref(priority["id"])},
        "urgency": incident["urgency"],
        "conference_bridge": incident["conference_bridge"],
        "resolve_reason": incident["resolve_reason"],
        "incident_type": {"name": "incident_default"},
    }


def service_webhook_data(service: JsonDict) -> JsonDict:
    keys = (
        "id",
        "type",
        "summary",
        "self",
        "html_url",
        "name",
        "description",
        "status",
    )
    data = {key: service[key] for key in keys}
    data.update(
        {"escalation_policy": service["escalation_policy"], "teams": service["teams"]}
    )
    return data


def webhook_event_data(
    store: PdStore, event_type: str, resource_id: str, event_id: str
) -> tuple[str, JsonDict]:
    """Return (resource_type, data) for a V3 webhook event, or raise KeyError."""
    if event_type.startswith("service."):
        service = store.services.get(resource_id) or store.deleted_services[resource_id]
        return "service", service_webhook_data(service)
    incident = store.incidents[resource_id]
    incident_ref = store.ref(resource_id)
    agent = _event_agent(store, incident)
    if event_type == "incident.annotated":
        return "incident", {
            "id": f"N{event_id[:6].upper()}",
            "type": "incident_note",
            "content": f"Investigating {incident['title']}",
            "trimmed": False,
            "incident": incident_ref,
        }
    if event_type == "incident.status_update_published":
        return "incident", {
            "id": f"S{event_id[:6].upper()}",
            "type": "status_update",
            "message": f"Mitigation in progress for {incident['title']}",
            "sender": agent,
            "incident": incident_ref,
        }
    if event_type in ("incident.responder.added", "incident.responder.replied"):
        state = "pending" if event_type.endswith("added") else "joined"
        return "incident", {
            "type": "incident_responder",
            "user": agent,
            "escalation_policy": None,
            "message": "Please help with this incident",
            "state": state,
            "incident": incident_ref,
        }
    return "incident", incident_webhook_data(store, incident)


def _event_agent(store: PdStore, incident: JsonDict) -> JsonDict:
    if incident["assignments"]:
        return dict(incident["assignments"][0]["assignee"])
    policy_id = incident["escalation_policy"]["id"]
    if policy_id in store.policies:
        return dict(store.ref(store.oncall_user_for_policy(policy_id, store.now())))
    return dict(store.ref(next(iter(store.users))))


def webhook_event(
    store: PdStore, event_type: str, resource_id: str, event_id: str
) -> JsonDict:
    resource_type, data = webhook_event_data(store, event_type, resource_id, event_id)
    agent = (
        _event_agent(store, store.incidents[resource_id])
        if resource_type == "incident"
        else None
    )
    return {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": resource_type,
            "occurred_at": iso(store.now()),
            "agent": agent,
            "client": (
                {"name": "PagerDuty Sandbox"} if resource_type == "incident" else None
            ),
            "data": data,
        }
    }


# =================================================================== analytics
def service_incident_metrics(
    store: PdStore, incident_ids: list[str], service_ids: set[str] | None
) -> list[JsonDict]:
    """Per-service incident metrics in the shape of PagerDuty Analytics."""
    grouped: dict[str, list[str]] = {}
    for incident_id in incident_ids:
        service_id = store.incidents[incident_id]["service"]["id"]
        if service_ids is None or service_id in service_ids:
            grouped.setdefault(service_id, []).append(incident_id)
    return [
        _service_metrics(store, service_id, ids)
        for service_id, ids in sorted(grouped.items())
    ]


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
        if (store.incidents[i]["priority"] or {}).get("name") == "P1"
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
