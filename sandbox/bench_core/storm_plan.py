"""The incident storm as data: PagerDuty state changes, then lagging deliveries.

In a real storm the changes happen in PagerDuty first (acknowledgements,
re-triggers, resolutions, retitles, notes) and their webhook deliveries follow
late, out of order and sometimes twice. So the plan has two parts:

- `changes`: per incident, a few state changes in the order PagerDuty applies
  them (each one a `POST /_sim/incidents/{id}` body and the event type
  PagerDuty would send for it), and notes that change nothing;
- `deliveries`: every event once, plus duplicates (the same `event.id` again,
  as PagerDuty's at-least-once retries send it), shuffled and spread evenly
  over the storm's duration. Each carries the `occurred_at` of its change.

Pure and seeded, so the tests can check its shape.
"""

import random
from dataclasses import dataclass, field

# What each status change is announced as.
STATUS_EVENTS = {
    ("triggered", "acknowledged"): "incident.acknowledged",
    ("acknowledged", "triggered"): "incident.unacknowledged",
    ("triggered", "resolved"): "incident.resolved",
    ("acknowledged", "resolved"): "incident.resolved",
    ("resolved", "triggered"): "incident.reopened",
}
NEXT_STATUSES = {
    "triggered": ["acknowledged", "acknowledged", "resolved"],
    "acknowledged": ["resolved", "resolved", "triggered"],
    "resolved": ["triggered"],
}
# A retitle ("[SEV1] ..."): PagerDuty has no event of its own for it; in the
# storm it comes with a note, so it is announced as `incident.annotated`.
RETITLE_EVENT = "incident.annotated"
NOTE_EVENT = "incident.annotated"


@dataclass
class Event:
    incident_id: str
    event_type: str
    event_id: str
    change: dict[str, str] | None  # the simulator change, None for a note
    occurred_at: str | None = None  # set once the change is applied


@dataclass
class IncidentState:
    status: str = "triggered"
    title: str = ""


@dataclass
class StormPlan:
    # rounds[r]: each incident's r-th event (a change or a note), in order
    rounds: list[list[Event]]
    deliveries: list[Event]  # shuffled, duplicates included
    final: dict[str, IncidentState] = field(default_factory=dict)

    @property
    def events(self) -> list[Event]:
        return [event for round_ in self.rounds for event in round_]

    @property
    def changes(self) -> int:
        return sum(event.change is not None for event in self.events)

    @property
    def duplicates(self) -> int:
        return len(self.deliveries) - len(self.events)


def plan_storm(
    incident_ids: list[str],
    titles: dict[str, str],
    deliveries: int,
    seed: int = 1,
    changes_per_incident: tuple[int, int] = (3, 5),
    duplicate_share: float = 0.1,
) -> StormPlan:
    """Changes for every incident (between the two bounds each, statuses and
    titles), notes to fill up, and `deliveries` deliveries in all of which
    `duplicate_share` repeat an event already delivered."""
    rng = random.Random(seed)
    per_incident: dict[str, list[Event]] = {}
    final: dict[str, IncidentState] = {}
    for incident_id in incident_ids:
        state = IncidentState("triggered", titles[incident_id])
        events = []
        for step in range(rng.randint(*changes_per_incident)):
            events.append(next_change(rng, incident_id, state, step))
        per_incident[incident_id] = events
        final[incident_id] = state
    duplicates = round(deliveries * duplicate_share)
    changes = sum(len(events) for events in per_incident.values())
    notes = deliveries - duplicates - changes
    if notes < 0:
        raise ValueError(
            f"{deliveries} deliveries cannot carry {changes} changes and "
            f"{duplicates} duplicates"
        )
    for _ in range(notes):
        incident_id = rng.choice(incident_ids)
        events = per_incident[incident_id]
        note = Event(incident_id, NOTE_EVENT, event_id(rng), None)
        events.insert(rng.randint(0, len(events)), note)
    depth = max(len(events) for events in per_incident.values())
    rounds = [
        [events[r] for events in per_incident.values() if r < len(events)]
        for r in range(depth)
    ]
    unique = [event for round_ in rounds for event in round_]
    delivered = unique + [rng.choice(unique) for _ in range(duplicates)]
    rng.shuffle(delivered)
    return StormPlan(rounds, delivered, final)


def next_change(
    rng: random.Random, incident_id: str, state: IncidentState, step: int
) -> Event:
    if rng.random() < 0.25:
        state.title = f"[SEV{rng.randint(1, 3)}] {base_title(state.title)} ({step})"
        return Event(incident_id, RETITLE_EVENT, event_id(rng), {"title": state.title})
    status = rng.choice(NEXT_STATUSES[state.status])
    event_type = STATUS_EVENTS[(state.status, status)]
    state.status = status
    return Event(incident_id, event_type, event_id(rng), {"status": status})


def base_title(title: str) -> str:
    """The title without an earlier retitle's prefix and suffix."""
    if title.startswith("[SEV") and "] " in title:
        title = title.split("] ", 1)[1]
        title = title.rsplit(" (", 1)[0]
    return title


def event_id(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(14))


def send_times(count: int, seconds: float) -> list[float]:
    """Offsets from the storm's start, evenly spread: the k-th of `count` at
    k * seconds / count."""
    return [k * seconds / count for k in range(count)]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (share in 0..1): the smallest value with at
    least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]
