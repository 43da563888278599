"""The shipped Port actions (`.port/resources/actions.json`), bound to this
installation.

Ocean creates them as they are in the file when `initializePortResources` is
true, and Ocean does not template them, so the file can only name the
installation with a placeholder. At start (with the actions processor
enabled), each shipped action Port holds whose `invocationMethod.installationId`
is still that placeholder gets this installation's identifier
(`PUT /v1/actions/{identifier}`); an action someone has pointed elsewhere is
left as it is.
"""

import asyncio
import json
from pathlib import Path
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean

ACTIONS_FILE = Path(__file__).resolve().parent.parent / ".port/resources/actions.json"
INSTALLATION_PLACEHOLDER = "<PAGERDUTY_INSTALLATION_ID>"
BIND_ATTEMPTS = 10
BIND_RETRY_SECONDS = 60.0


def shipped_actions() -> list[dict[str, Any]]:
    actions: list[dict[str, Any]] = json.loads(ACTIONS_FILE.read_text())
    return actions


def bound(action: dict[str, Any], installation: str) -> dict[str, Any] | None:
    """The action pointed at `installation`, or None when it needs no change."""
    method = action.get("invocationMethod") or {}
    if method.get("installationId") != INSTALLATION_PLACEHOLDER:
        return None
    body = {
        key: value
        for key, value in action.items()
        if key not in ("createdAt", "createdBy", "updatedAt", "updatedBy", "id")
    }
    body["invocationMethod"] = {**method, "installationId": installation}
    return body


async def bind_once(installation: str) -> tuple[list[str], list[str]]:
    """Bind what needs it; returns (bound, not yet in Port)."""
    port = ocean.port_client
    done: list[str] = []
    missing: list[str] = []
    for shipped in shipped_actions():
        identifier = shipped["identifier"]
        url = f"{port.auth.api_url}/actions/{identifier}"
        try:
            response = await port.client.get(url, headers=await port.auth.headers())
            if response.status_code == 404:
                missing.append(identifier)
                continue
            response.raise_for_status()
            body = bound(response.json().get("action") or {}, installation)
            if body is None:
                continue
            answer = await port.client.put(
                url, json=body, headers=await port.auth.headers()
            )
            answer.raise_for_status()
            done.append(identifier)
        except Exception as error:  # noqa: BLE001 - one action must not stop start
            logger.warning(f"Could not bind the Port action {identifier}: {error}")
    return done, missing


async def bind_shipped_actions() -> None:
    """At start, with the actions processor on. Another pod (helm's split
    workers) may create the actions a little later: missing ones are looked for
    again every BIND_RETRY_SECONDS, BIND_ATTEMPTS times."""
    if not ocean.config.actions_processor.enabled:
        return
    installation = ocean.config.integration.identifier
    for attempt in range(BIND_ATTEMPTS):
        done, missing = await bind_once(installation)
        if done:
            logger.info(
                f"Bound the shipped Port actions to installation {installation!r}: "
                + ", ".join(done)
            )
        if not missing:
            return
        if attempt + 1 < BIND_ATTEMPTS:
            await asyncio.sleep(BIND_RETRY_SECONDS)
    logger.info(
        f"Shipped Port actions not in Port (not created, or deleted): {', '.join(missing)}"
    )
