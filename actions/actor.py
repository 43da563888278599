"""Who acts in PagerDuty for a run.

PagerDuty records the user named by the `From` header as the one who acted.
That user is the run's `fromEmail` (the shipped Port actions fill it from the
Port user who ran the action), else the integration's `actionsFromEmail`;
with neither, the run fails before PagerDuty is asked anything.

Emails are matched (case-insensitively) against the account's users listing
that resyncs already share (`exporters.account.account_users`): every complete
listing refreshes one process-wide copy, so runs scan no users. An email the
copy does not know re-reads the listing, at most once a minute.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from port_ocean.context.ocean import ocean
from port_ocean.exceptions.execution_manager import ActionExecutionError

from client import JSON, PagerDutyClient
from exporters.account import account_users, users_listeners

REFRESH_ON_MISS_EVERY = 60.0
FROM_EMAIL_CONFIG = "actions_from_email"


class ActorError(ActionExecutionError):
    """No PagerDuty user to act as; nothing was written."""

    DEFAULT_STATUS_LABEL = "Unknown actor"


@dataclass(frozen=True)
class PagerDutyUser:
    id: str
    email: str
    name: str

    def reference(self) -> JSON:
        return {"id": self.id, "type": "user_reference"}

    @property
    def from_header(self) -> dict[str, str]:
        return {"From": self.email}


class UserDirectory:
    """The account's users by email, kept between resyncs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.by_email: dict[str, PagerDutyUser] = {}
        self.listed_at: float | None = None
        self.listings = 0
        self._clock = clock
        self._lock = asyncio.Lock()

    def load(self, users: list[JSON]) -> None:
        """Replace the copy with a complete users listing."""
        self.by_email = {
            str(user["email"]).lower(): PagerDutyUser(
                str(user["id"]), str(user["email"]), str(user.get("name") or "")
            )
            for user in users
            if user.get("id") and user.get("email")
        }
        self.listed_at = self._clock()
        self.listings += 1

    def may_refresh(self) -> bool:
        return (
            self.listed_at is None
            or self._clock() - self.listed_at >= REFRESH_ON_MISS_EVERY
        )

    async def find(self, client: PagerDutyClient, email: str) -> PagerDutyUser | None:
        key = email.strip().lower()
        if key in self.by_email or not self.may_refresh():
            return self.by_email.get(key)
        async with self._lock:  # a burst of runs shares one listing
            if key not in self.by_email and self.may_refresh():
                listed_before = self.listed_at
                users = await account_users(client)
                if self.listed_at == listed_before:  # not told as a users listener
                    self.load(users)
        return self.by_email.get(key)


_directory = UserDirectory()
users_listeners.append(_directory.load)


def user_directory() -> UserDirectory:
    return _directory


def configured_from_email() -> str | None:
    value = ocean.integration_config.get(FROM_EMAIL_CONFIG)
    return value.strip() if isinstance(value, str) and value.strip() else None


def no_actor_message() -> str:
    return (
        "No PagerDuty user to act as: the run has no fromEmail and the integration "
        "has no actionsFromEmail. Run the action from Port (it fills fromEmail "
        "with your email) or set actionsFromEmail "
        "(OCEAN__INTEGRATION__CONFIG__ACTIONS_FROM_EMAIL) to a PagerDuty user's email."
    )


def unknown_user_message(email: str, source: str) -> str:
    if source == "actionsFromEmail":
        fix = "set actionsFromEmail to the email of a PagerDuty user of this account"
    else:
        fix = (
            f"use the email of a PagerDuty user of this account in {source} (your "
            "Port email must match your PagerDuty login)"
        )
    return f"{source} {email!r} is not a PagerDuty user of this account: {fix}."


async def acting_user(
    client: PagerDutyClient, given: str | None, source: str = "fromEmail"
) -> PagerDutyUser:
    """The user named by the run (`source`), else by actionsFromEmail."""
    email = given
    if email is None and source == "fromEmail":
        email, source = configured_from_email(), "actionsFromEmail"
    if email is None:
        raise ActorError(no_actor_message())
    user = await _directory.find(client, email)
    if user is None:
        raise ActorError(unknown_user_message(email, source))
    return user
