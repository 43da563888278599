"""Who an incident is assigned to after ``PUT /incidents/{id}`` escalates or
reassigns it (facts file: ``escalation_level``, ``assignments[]`` or
``escalation_policy``).

Each of these re-triggers the incident (its acknowledgements are cleared) and
notifies the new assignees: the on-calls of the level it was escalated to, the
users named, or level 1 of the new escalation policy.
"""

from __future__ import annotations

from sandbox.pagerduty.errors import invalid_input
from sandbox.pagerduty.incident_changes import change_status
from sandbox.pagerduty.oncall_model import target_user
from sandbox.pagerduty.store import JsonDict, PdStore, iso

RESOLVED = "Incident Already Resolved"


def level_oncalls(store: PdStore, policy_id: str, level: int, ts: float) -> list[str]:
    """The users on call at ``ts`` on ``level`` (1-based) of a policy, in target order."""
    rules = store.policies[policy_id]["escalation_rules"]
    if not 1 <= level <= len(rules):
        invalid_input(f"escalation_level must be between 1 and {len(rules)}")
    users: list[str] = []
    for target in rules[level - 1]["targets"]:
        user_id = target_user(store, target, ts)
        if user_id not in users:
            users.append(user_id)
    return users


def require_open(incident: JsonDict) -> None:
    if incident["status"] == "resolved":
        invalid_input(RESOLVED)


def _assign(
    store: PdStore, incident: JsonDict, user_ids: list[str], via: str, now: float
) -> None:
    change_status(store, incident, "triggered", now)
    incident["assignments"] = [
        {"at": iso(now), "assignee": store.ref(user_id)} for user_id in user_ids
    ]
    incident["assigned_via"] = via


def escalate(store: PdStore, incident: JsonDict, level: object, now: float) -> None:
    if isinstance(level, bool) or not isinstance(level, int):
        invalid_input("escalation_level must be an integer")
    require_open(incident)
    policy_id = incident["escalation_policy"]["id"]
    users = level_oncalls(store, policy_id, level, now)
    _assign(store, incident, users, "escalation_policy", now)


def reassign_to_users(
    store: PdStore, incident: JsonDict, assignments: object, now: float
) -> None:
    if not isinstance(assignments, list) or not assignments:
        invalid_input("assignments must list at least one assignee")
    require_open(incident)
    user_ids: list[str] = []
    for item in assignments:
        user_id = str(((item or {}).get("assignee") or {}).get("id") or "")
        if user_id not in store.users:
            invalid_input(f"assignee {user_id or '(none)'} is not a user")
        if user_id not in user_ids:
            user_ids.append(user_id)
    _assign(store, incident, user_ids, "direct_assignment", now)


def reassign_to_policy(
    store: PdStore, incident: JsonDict, reference: object, now: float
) -> None:
    require_open(incident)
    policy_id = str((reference if isinstance(reference, dict) else {}).get("id") or "")
    if policy_id not in store.policies:
        invalid_input(f"escalation policy {policy_id or '(none)'} does not exist")
    users = level_oncalls(store, policy_id, 1, now)
    incident["escalation_policy"] = store.ref(policy_id)
    _assign(store, incident, users, "escalation_policy", now)
