"""Generated teams, users, schedules and escalation policies."""

from __future__ import annotations

import math

from sandbox.pagerduty.data_context import BuildContext
from sandbox.pagerduty.schedules import Rotation
from sandbox.pagerduty.store import JsonDict, stable_hash
from sandbox.pagerduty.words import (
    FIRST_NAMES,
    LAST_NAMES,
    TEAM_WORDS,
    TIME_ZONES,
    USER_ROLES,
)


# =================================================================== teams & users
def build_teams(ctx: BuildContext) -> None:
    store = ctx.store
    for index in range(max(1, ctx.sizes.teams)):
        word = TEAM_WORDS[index % len(TEAM_WORDS)]
        suffix = "" if index < len(TEAM_WORDS) else f" {index // len(TEAM_WORDS) + 1}"
        name = f"{word}{suffix}"
        team = store.base_object("team", store.ids.new(), name)
        team.update(
            {
                "name": name,
                "description": f"The {name} team",
                "default_role": "manager",
            }
        )
        store.teams[team["id"]] = team
        store.register_ref(team)
        store.team_members[team["id"]] = []


def build_users(ctx: BuildContext) -> None:
    store, rng = ctx.store, ctx.rng
    team_ids = list(store.teams)
    emails: set[str] = set()
    for _ in range(max(1, ctx.sizes.users)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user = store.base_object("user", store.ids.new(), f"{first} {last}")
        user_teams = rng.sample(team_ids, k=min(len(team_ids), rng.choice((1, 1, 2))))
        email = _unique_email(first, last, emails)
        user.update(_user_fields(ctx, first, last, email, user_teams))
        store.users[user["id"]] = user
        store.users_by_email[email] = user["id"]
        store.register_ref(user)
        for team_id in user_teams:
            role = "manager" if not store.team_members[team_id] else "responder"
            store.team_members[team_id].append((user["id"], role))


def _unique_email(first: str, last: str, taken: set[str]) -> str:
    base = f"{first}.{last}".lower()
    email, counter = f"{base}@example.com", 1
    while email in taken:
        counter += 1
        email = f"{base}{counter}@example.com"
    taken.add(email)
    return email


def _user_fields(
    ctx: BuildContext, first: str, last: str, email: str, team_ids: list[str]
) -> JsonDict:
    rng = ctx.rng
    fields: JsonDict = {
        "name": f"{first} {last}",
        "email": email,
        "time_zone": rng.choice(TIME_ZONES),
        "color": rng.choice(("purple", "green", "red", "teal", "orange")),
        "role": rng.choice(USER_ROLES),
        "avatar_url": f"https://secure.gravatar.com/avatar/{stable_hash(email):08x}.png",
        "invitation_sent": False,
        "teams": [ctx.store.ref(team_id) for team_id in team_ids],
        "contact_methods": [],
        "notification_rules": [],
    }
    job_title = rng.choice(("SRE", "Engineer", "Manager", "Developer", None))
    if job_title is not None:
        fields["job_title"] = job_title
    return fields


# =================================================================== schedules & policies
def build_schedules_and_policies(ctx: BuildContext) -> None:
    count = max(1, math.ceil(ctx.sizes.services / 3))
    for index in range(count):
        team_id = ctx.rng.choice(list(ctx.store.teams))
        schedule = _build_schedule(ctx, index, team_id)
        _build_policy(ctx, index, team_id, schedule)


def _team_user_pool(ctx: BuildContext, team_id: str) -> list[str]:
    members = [user_id for user_id, _ in ctx.store.team_members[team_id]]
    return members if len(members) >= 2 else list(ctx.store.users)


def _build_schedule(ctx: BuildContext, index: int, team_id: str) -> JsonDict:
    store, rng = ctx.store, ctx.rng
    team_name = store.teams[team_id]["name"]
    name = f"{team_name} Primary Rotation {index + 1:03d}"
    schedule = store.base_object("schedule", store.ids.new(), name)
    pool = _team_user_pool(ctx, team_id)
    user_ids = rng.sample(pool, k=min(len(pool), rng.randint(2, 4)))
    shift_hours = ctx.sizes.shift_minutes / 60
    schedule.update(
        {
            "name": name,
            "description": f"{team_name} rotation, {shift_hours:g} h shifts",
            "time_zone": rng.choice(TIME_ZONES),
            "users": [store.ref(user_id) for user_id in user_ids],
            "escalation_policies": [],
            "teams": [store.ref(team_id)],
        }
    )
    store.schedules[schedule["id"]] = schedule
    store.register_ref(schedule)
    store.rotations[schedule["id"]] = Rotation(
        user_ids, rng.randrange(len(user_ids)), ctx.sizes.shift_minutes * 60.0
    )
    return schedule


def _build_policy(
    ctx: BuildContext, index: int, team_id: str, schedule: JsonDict
) -> None:
    store = ctx.store
    team_name = store.teams[team_id]["name"]
    name = f"{team_name} Escalation {index + 1:03d}"
    policy = store.base_object("escalation_policy", store.ids.new(), name)
    policy.update(
        {
            "name": name,
            "description": f"Escalation policy for {team_name}",
            "num_loops": ctx.rng.choice((0, 1, 2)),
            "on_call_handoff_notifications": "if_has_services",
            "escalation_rules": _escalation_rules(ctx, schedule, index),
            "services": [],
            "teams": [store.ref(team_id)],
        }
    )
    store.policies[policy["id"]] = policy
    store.register_ref(policy)
    schedule["escalation_policies"].append(store.ref(policy["id"]))
    store.policy_users[policy["id"]] = _policy_user_ids(ctx, policy)


def _escalation_rules(
    ctx: BuildContext, schedule: JsonDict, index: int
) -> list[JsonDict]:
    """Level 1 is the schedule; up to two more levels put a user on directly.

    The first policy always has such a level: a permanent on-call.
    """
    store, rng = ctx.store, ctx.rng
    targets: list[list[JsonDict]] = [[store.ref(schedule["id"])]]
    extra_levels = rng.randint(0, 2)
    if index == 0:
        extra_levels = max(extra_levels, 1)
    for _ in range(extra_levels):
        targets.append([store.ref(rng.choice(list(store.users)))])
    return [
        {
            "id": store.ids.new(),
            "escalation_delay_in_minutes": rng.choice((5, 10, 15, 30)),
            "targets": rule_targets,
        }
        for rule_targets in targets
    ]


def _policy_user_ids(ctx: BuildContext, policy: JsonDict) -> set[str]:
    user_ids: set[str] = set()
    for rule in policy["escalation_rules"]:
        for target in rule["targets"]:
            if target["type"] == "schedule_reference":
                user_ids.update(ctx.store.rotations[target["id"]].user_ids)
            else:
                user_ids.add(target["id"])
    return user_ids
