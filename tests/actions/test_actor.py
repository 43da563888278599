"""The acting user: fromEmail, else actionsFromEmail; users from the shared
listing, kept between resyncs, re-read on a miss at most once a minute."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import actions.actor
from actions.actor import ActorError, UserDirectory, acting_user
from exporters import account

USERS = [
    {"id": "U1", "email": "Ann@example.com", "name": "Ann"},
    {"id": "U2", "email": "bob@example.com", "name": "Bob"},
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, Any]]]:
    """Each users listing the directory asks for (answered with USERS)."""
    asked: list[list[dict[str, Any]]] = []

    async def account_users(client: Any) -> list[dict[str, Any]]:
        asked.append(USERS)
        return USERS

    monkeypatch.setattr(actions.actor, "account_users", account_users)
    return asked


async def test_a_miss_relists_at_most_once_a_minute(
    listings: list[list[dict[str, Any]]],
) -> None:
    clock = Clock()
    directory = UserDirectory(clock)
    found = await directory.find(None, "ann@EXAMPLE.com")  # type: ignore[arg-type]
    assert found is not None and (found.id, found.email) == ("U1", "Ann@example.com")
    assert len(listings) == 1
    assert await directory.find(None, "bob@example.com") is not None  # type: ignore[arg-type]
    assert await directory.find(None, "new@example.com") is None  # type: ignore[arg-type]
    assert len(listings) == 1  # listed less than a minute ago: no new listing
    clock.now += 61
    assert await directory.find(None, "new@example.com") is None  # type: ignore[arg-type]
    assert len(listings) == 2


class PagingClient:
    async def paginate(self, path: str) -> AsyncIterator[list[dict[str, Any]]]:
        assert path == "/users"
        yield USERS[:1]
        yield USERS[1:]


async def test_every_complete_users_listing_refreshes_the_process_copy() -> None:
    directory = UserDirectory()
    account.users_listeners.append(directory.load)
    try:
        await account.account_users(PagingClient())  # type: ignore[arg-type]
    finally:
        account.users_listeners.remove(directory.load)
    assert set(directory.by_email) == {"ann@example.com", "bob@example.com"}
    assert directory.listings == 1
    assert actions.actor._directory.load in account.users_listeners


async def test_a_miss_loads_the_listing_once_into_a_listening_directory() -> None:
    directory = UserDirectory()
    account.users_listeners.append(directory.load)
    try:
        found = await directory.find(PagingClient(), "Ann@example.com")  # type: ignore[arg-type]
    finally:
        account.users_listeners.remove(directory.load)
    assert found is not None and found.id == "U1"
    assert directory.listings == 1


async def test_from_email_then_actions_from_email_then_a_clear_error(
    listings: list[list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions.actor, "_directory", UserDirectory())
    configured: list[str | None] = [None]
    monkeypatch.setattr(actions.actor, "configured_from_email", lambda: configured[0])
    with pytest.raises(
        ActorError, match="OCEAN__INTEGRATION__CONFIG__ACTIONS_FROM_EMAIL"
    ):
        await acting_user(None, None)  # type: ignore[arg-type]
    assert listings == []  # nothing asked of PagerDuty
    configured[0] = "bob@example.com"
    assert (await acting_user(None, None)).id == "U2"  # type: ignore[arg-type]
    assert (await acting_user(None, "ann@example.com")).id == "U1"  # type: ignore[arg-type]
    configured[0] = "gone@example.com"
    with pytest.raises(ActorError, match="set actionsFromEmail to the email of a"):
        await acting_user(None, None)  # type: ignore[arg-type]
    with pytest.raises(ActorError, match="userEmail 'x@y.z' is not a PagerDuty user"):
        await acting_user(None, "x@y.z", source="userEmail")  # type: ignore[arg-type]
