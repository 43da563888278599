"""PagerDuty's ``include[]`` expansion, custom field values and time zones.

Views never change the store: an expansion returns a copy with references
replaced by the full objects.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.pagerduty.store import JsonDict, PdStore, stable_hash


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
    if "priorities" in includes and "priority" in incident:
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


# =================================================================== time zones
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def in_time_zone(value: Any, zone: ZoneInfo) -> Any:
    """A copy of ``value`` with every UTC timestamp rendered in ``zone``."""
    if isinstance(value, dict):
        return {key: in_time_zone(item, zone) for key, item in value.items()}
    if isinstance(value, list):
        return [in_time_zone(item, zone) for item in value]
    if isinstance(value, str) and UTC_STAMP.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(zone).isoformat()
    return value
