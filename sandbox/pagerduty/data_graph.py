"""The generated service graph: dependencies, maintenance windows, change events.

Drawn after every other object (from a random source seeded by the account's),
so adding it changed none of the existing ids or timestamps.

- Technical dependencies form a DAG over the services in name order: chains
  (a service depends on the one before it) and fan-in (many services depend on
  a few core ones, the first tenth).
- Business services sit on top: each depends on two or three technical
  services of the upper half, and some on the business service before them.
- Maintenance windows: one ongoing (covering two services), future ones and
  past ones; `add_maintenance_window` makes more (the control API).
- Change events: a few deploys per service over the last two weeks, and some
  older ones (40 days back), newest first.
"""

from __future__ import annotations

import random

from sandbox.pagerduty.data_context import BuildContext
from sandbox.pagerduty.store import DAY, JsonDict, PdStore, iso

HOUR = 3600.0
TECHNICAL = "technical_service_reference"
BUSINESS = "business_service_reference"
SOURCES = ("github-actions", "argo-cd", "jenkins", "terraform-cloud")


def build_graph(ctx: BuildContext) -> None:
    rng = random.Random(ctx.rng.getrandbits(64))
    store = ctx.store
    build_dependencies(store, rng)
    build_maintenance_windows(store, rng, ctx.now)
    build_change_events(store, rng, ctx.now)


def relationship_id(rng: random.Random) -> str:
    return "D" + "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=15))


def add_dependency(
    store: PdStore, rng: random.Random, dependent: JsonDict, supporting: JsonDict
) -> None:
    store.dependencies.append(
        {
            "id": relationship_id(rng),
            "type": "service_dependency",
            "dependent_service": {"id": dependent["id"], "type": reference(dependent)},
            "supporting_service": {
                "id": supporting["id"],
                "type": reference(supporting),
            },
        }
    )


def reference(obj: JsonDict) -> str:
    return BUSINESS if obj["type"] == "business_service" else TECHNICAL


def build_dependencies(store: PdStore, rng: random.Random) -> None:
    services = store.sorted_values(store.services)
    core = services[: max(1, len(services) // 10)]
    for index, service in enumerate(services[1:], start=1):
        supporting: list[JsonDict] = []
        if rng.random() < 0.5:
            supporting.append(services[index - 1])  # chains
        if service not in core and rng.random() < 0.5:
            supporting.append(rng.choice(core))  # fan-in on core services
        for target in {s["id"]: s for s in supporting}.values():
            add_dependency(store, rng, service, target)
    upper = services[len(services) // 2 :] or services
    businesses = store.sorted_values(store.business_services)
    for index, business in enumerate(businesses):
        count = min(len(upper), rng.choice((2, 3)))
        for target in rng.sample(upper, count):
            add_dependency(store, rng, business, target)
        if index > 0 and rng.random() < 0.6:
            add_dependency(store, rng, business, businesses[index - 1])


def build_maintenance_windows(store: PdStore, rng: random.Random, now: float) -> None:
    services = store.sorted_values(store.services)
    plan = [
        ("Database failover drill", now - HOUR / 2, now + 3 * HOUR, 2),
        ("Kernel upgrades", now + 2 * DAY, now + 2 * DAY + 2 * HOUR, 2),
        ("Network maintenance", now + 7 * DAY, now + 7 * DAY + HOUR, 1),
        ("Storage migration", now - 10 * DAY, now - 10 * DAY + HOUR, 2),
        ("Certificate rotation", now - 3 * DAY, now - 3 * DAY + HOUR / 2, 1),
    ]
    users = store.sorted_values(store.users)
    for description, start, end, count in plan:
        covered = rng.sample(services, min(count, len(services)))
        creator = rng.choice(users)["id"] if users else None
        add_maintenance_window(
            store, description, start, end, [s["id"] for s in covered], creator
        )


def add_maintenance_window(
    store: PdStore,
    description: str,
    start: float,
    end: float,
    service_ids: list[str],
    created_by: str | None = None,
) -> JsonDict:
    window = store.base_object("maintenance_window", store.ids.new(), description)
    teams = {
        team["id"]: team
        for sid in service_ids
        for team in store.services[sid].get("teams") or []
    }
    window.update(
        {
            "sequence_number": len(store.maintenance_windows) + 1,
            "start_time": iso(start),
            "end_time": iso(end),
            "description": description,
            "services": [store.ref(sid) for sid in service_ids],
            "teams": list(teams.values()),
        }
    )
    if created_by:
        window["created_by"] = store.ref(created_by)
    store.maintenance_windows[window["id"]] = window
    store.register_ref(window)
    return window


def build_change_events(store: PdStore, rng: random.Random, now: float) -> None:
    events: list[JsonDict] = []
    for service in store.sorted_values(store.services):
        moments = [now - rng.uniform(0.1, 14) * DAY for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.5:
            moments.append(now - rng.uniform(20, 40) * DAY)
        for moment in moments:
            events.append(change_event(store, rng, service, moment))
    events.sort(key=lambda event: event["timestamp"], reverse=True)
    store.change_events = events


def change_event(
    store: PdStore, rng: random.Random, service: JsonDict, moment: float
) -> JsonDict:
    version = f"v{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 99)}"
    source = rng.choice(SOURCES)
    self_url, _ = store.links("change_event", "")
    event_id = "01" + "".join(rng.choices("ABCDEFGHJKMNPQRSTVWXYZ0123456789", k=24))
    return {
        "id": event_id,
        "type": "change_event",
        "summary": f"Deployed {service['name']} {version}",
        "self": f"{self_url}{event_id}",
        "html_url": None,
        "timestamp": iso(moment),
        "source": source,
        "services": [store.ref(service["id"])],
        "integration": {
            "id": "PINT" + service["id"][-3:],
            "type": "inbound_integration_reference",
        },
        "routing_key": f"{rng.getrandbits(128):032x}",
        "links": [
            {
                "href": f"https://ci.example.com/{service['name']}/releases/{version}",
                "text": f"Release {version}",
            }
        ],
        "images": [],
        "custom_details": {"version": version, "build_state": "passed"},
    }
