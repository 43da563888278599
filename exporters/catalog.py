"""Exporters of the account's structure: schedules, on-calls, escalation
policies, users, teams, and any other list endpoint (custom kinds)."""

from collections.abc import AsyncIterator

from client import JSON, PagerDutyClient
from exporters.account import account_users, emails_by_user_id, oncalls_by_policy
from integration import (
    CustomSelector,
    EscalationPolicySelector,
    OncallSelector,
    ScheduleSelector,
    TeamSelector,
    UserSelector,
)
from pagination import PAGE_SIZE, Window, parse_time

EMAIL_FIELD = "__email"
ONCALL_USERS_FIELD = "__oncall_users"
MEMBERS_FIELD = "__members"


class ScheduleExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: ScheduleSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        emails = emails_by_user_id(await account_users(self.client))
        async for schedules in self.client.paginate("/schedules", params):
            for schedule in schedules:
                for user in schedule.get("users") or []:
                    user[EMAIL_FIELD] = emails.get(str(user.get("id")))
            yield schedules


class OncallExporter:
    """One object per on-call shift (policy, level, schedule, user, start)."""

    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: OncallSelector) -> AsyncIterator[list[JSON]]:
        """Every shift overlapping the selector's range, read in as many windows
        as PagerDuty's 10,000 cap requires."""
        params = selector.api_query_params.to_request_params()
        window = Window(
            parse_time(params.pop("since")), parse_time(params.pop("until"))
        )
        async for oncalls in self.client.paginate_by_overlap(
            "/oncalls", params, window, shift_identity
        ):
            yield oncalls


def shift_identity(oncall: JSON) -> tuple[object, ...]:
    """What tells two on-call entries apart (as the shipped mapping's identifier)."""
    return (
        (oncall.get("escalation_policy") or {}).get("id"),
        oncall.get("escalation_level"),
        (oncall.get("schedule") or {}).get("id"),
        (oncall.get("user") or {}).get("id"),
        oncall.get("start"),
    )


class EscalationPolicyExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(
        self, selector: EscalationPolicySelector
    ) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for policies in self.client.paginate("/escalation_policies", params):
            if selector.attach_oncall_users:
                ids = [str(policy["id"]) for policy in policies]
                oncalls = await oncalls_by_policy(self.client, ids)
                for policy in policies:
                    policy[ONCALL_USERS_FIELD] = oncalls.get(str(policy["id"]), [])
            yield policies


class UserExporter:
    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: UserSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        if params:
            async for users in self.client.paginate("/users", params):
                yield users
            return
        # The plain listing is the one enrichments use: read it once per resync.
        users = await account_users(self.client)
        for start in range(0, len(users), PAGE_SIZE):
            yield users[start : start + PAGE_SIZE]


class TeamExporter:
    """Teams, each with `__members`: the users whose teams include it."""

    def __init__(self, client: PagerDutyClient) -> None:
        self.client = client

    async def pages(self, selector: TeamSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        members = members_by_team(await account_users(self.client))
        async for teams in self.client.paginate("/teams", params):
            for team in teams:
                team[MEMBERS_FIELD] = members.get(str(team["id"]), [])
            yield teams


def members_by_team(users: list[JSON]) -> dict[str, list[JSON]]:
    members: dict[str, list[JSON]] = {}
    for user in users:
        member = {key: user.get(key) for key in ("id", "name", "email", "role")}
        for team in user.get("teams") or []:
            members.setdefault(str(team.get("id")), []).append(member)
    return members


class CustomKindExporter:
    """Any other PagerDuty list endpoint, named by the kind (e.g. `priorities`)."""

    def __init__(self, client: PagerDutyClient, kind: str) -> None:
        self.client = client
        self.kind = kind

    async def pages(self, selector: CustomSelector) -> AsyncIterator[list[JSON]]:
        params = selector.api_query_params.to_request_params()
        async for items in self.client.paginate(f"/{self.kind}", params):
            yield items
