"""Generated services, priorities and business services."""

from __future__ import annotations

from sandbox.pagerduty.data_context import BuildContext
from sandbox.pagerduty.store import DAY, JsonDict, iso
from sandbox.pagerduty.words import PRIORITY_SPECS, SERVICE_STATUSES, SERVICE_WORDS


def build_services(ctx: BuildContext) -> None:
    store = ctx.store
    policy_ids = list(store.policies)
    for index in range(max(1, ctx.sizes.services)):
        policy = store.policies[policy_ids[index % len(policy_ids)]]
        service = _build_service(ctx, index, policy)
        store.services[service["id"]] = service
        store.register_ref(service)
        policy["services"].append(store.ref(service["id"]))


def _build_service(ctx: BuildContext, index: int, policy: JsonDict) -> JsonDict:
    store, rng = ctx.store, ctx.rng
    name = f"{rng.choice(SERVICE_WORDS)}-{rng.choice(SERVICE_WORDS)}-{index + 1:04d}"
    service = store.base_object("service", store.ids.new(), name)
    created = ctx.now - rng.uniform(800, 1500) * DAY
    updated = created + rng.uniform(0, 700) * DAY
    # PagerDuty leaves a disabled timeout out rather than sending null.
    auto_resolve = rng.choice((None, 14400))
    acknowledgement = rng.choice((None, 1800))
    service.update(
        {
            "name": name,
            "description": f"Runs the {name} workload",
            "created_at": iso(created),
            "updated_at": iso(updated),
            "status": rng.choice(SERVICE_STATUSES),
            "escalation_policy": store.ref(policy["id"]),
            "teams": list(policy["teams"]),
            "integrations": [],
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "scheduled_actions": [],
            "alert_creation": "create_alerts_and_incidents",
        }
    )
    if auto_resolve is not None:
        service["auto_resolve_timeout"] = auto_resolve
    if acknowledgement is not None:
        service["acknowledgement_timeout"] = acknowledgement
    return service


def build_priorities(ctx: BuildContext) -> None:
    store = ctx.store
    for order, (name, color, description) in enumerate(PRIORITY_SPECS, start=1):
        priority = store.base_object("priority", store.ids.new(), name)
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
        store.priorities[priority["id"]] = priority
        store.register_ref(priority)


def build_business_services(ctx: BuildContext) -> None:
    store = ctx.store
    for team in store.sorted_values(store.teams):
        name = f"{team['name']} Customer Experience"
        business = store.base_object("business_service", store.ids.new(), name)
        business.update(
            {
                "name": name,
                "description": f"What customers of {team['name']} see",
                "point_of_contact": f"{team['name'].lower().replace(' ', '-')}@example.com",
                "team": store.ref(team["id"]),
            }
        )
        store.business_services[business["id"]] = business
        store.register_ref(business)
