"""Lookups several kinds share, fetched once per resync (or per live event)."""

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from client import JSON, PagerDutyClient
from event_scope import event_scoped, once

USERS_KEY = "pagerduty.account_users"
ONCALLS_KEY = "pagerduty.oncalls_by_policy"
# Told of every complete users listing (actions keep a process-wide copy).
users_listeners: list[Callable[[list[JSON]], None]] = []


async def account_users(client: PagerDutyClient) -> list[JSON]:
    """Every user of the account, listed once per resync however many kinds ask."""

    async def list_users() -> list[JSON]:
        users = [user async for page in client.paginate("/users") for user in page]
        for listener in users_listeners:
            listener(users)
        return users

    task: asyncio.Task[list[JSON]] = event_scoped(USERS_KEY, once(list_users))
    return await asyncio.shield(task)


async def oncalls_by_policy(
    client: PagerDutyClient, policy_ids: Iterable[str]
) -> dict[str, list[JSON]]:
    """Current on-calls per escalation policy; each policy fetched once per resync."""
    known: dict[str, list[JSON]] = event_scoped(ONCALLS_KEY, dict)
    missing = sorted({pid for pid in policy_ids if pid not in known})
    if missing:
        known.update(await client.oncalls_by_escalation_policy(missing))
    return {pid: known.get(pid, []) for pid in policy_ids}


def emails_by_user_id(users: list[JSON]) -> dict[str, Any]:
    return {str(user["id"]): user.get("email") for user in users if user.get("id")}
