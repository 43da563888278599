"""Incident notes: ``POST /incidents/{id}/notes`` and ``GET /incidents/{id}/notes``.

A note is written by the ``From`` user (an account API key needs the header;
the contract checks its presence, ``acting_user`` that it names a user). A
resolution given with ``PUT /incidents/{id}`` (``status: resolved``) is added
as a note the same way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.pagerduty.errors import invalid_input, json_response, lookup, read_json
from sandbox.pagerduty.state import PagerDutySim
from sandbox.pagerduty.store import JsonDict, iso

API_CHANNEL = {"summary": "The PagerDuty website or APIs"}


def acting_user(sim: PagerDutySim, request: Request) -> str | None:
    """The user the ``From`` header names; 400 when it names nobody."""
    email = request.headers.get("from")
    if email is None:
        return None
    user_id = sim.store.users_by_email.get(email.strip().lower())
    if user_id is None:
        invalid_input("From header must be the email of a user of the account")
    return user_id


def add_note(
    sim: PagerDutySim, incident_id: str, content: str, user_id: str | None
) -> JsonDict:
    store = sim.store
    stamp = iso(store.now())
    note: JsonDict = {
        "id": store.ids.new("Q"),
        "content": content,
        "created_at": stamp,
        "updated_at": stamp,
        "channel": dict(API_CHANNEL),
    }
    if user_id is not None:
        note["user"] = store.ref(user_id)
    sim.writes.notes.setdefault(incident_id, []).append(note)
    return note


async def create_note(sim: PagerDutySim, request: Request) -> Response:
    actor = acting_user(sim, request)
    incident = lookup(sim.store.incidents, request)
    content = ((await read_json(request)).get("note") or {}).get("content")
    if not isinstance(content, str) or not content.strip():
        invalid_input("note content must not be empty")
    note = add_note(sim, incident["id"], content, actor)
    return json_response({"note": note})


async def list_notes(sim: PagerDutySim, request: Request) -> Response:
    incident = lookup(sim.store.incidents, request)
    return json_response({"notes": sim.writes.notes.get(incident["id"], [])})
