"""The shipped Port actions (`.port/resources/actions.json`), bound to this
installation.

Ocean creates them as they are in the file when `initializePortResources` is
true, and Ocean does not template them, so the file can only name the
installation with a placeholder. At start (with the actions processor enabled), each shipped action Port holds whose
`invocationMethod.installationId` is still that placeholder gets this
installation's identifier (`PUT /v1/actions/{identifier}`); an action someone
has pointed elsewhere is left as it is.
"""

import json
from pathlib import Path
from typing import Any

from loguru import logger
from port_ocean.context.ocean import ocean

ACTIONS_FILE = Path(__file__).resolve().parent.parent / ".port/resources/actions.json"
INSTALLATION_PLACEHOLDER = "<PAGERDUTY_INSTALLATION_ID>"


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


async def bind_shipped_actions() -> None:
    if not (
        ocean.config.initialize_port_resources
        and ocean.config.actions_processor.enabled
    ):
        return
    port = ocean.port_client
    installation = ocean.config.integration.identifier
    done: list[str] = []
    for shipped in shipped_actions():
        identifier = shipped["identifier"]
        url = f"{port.auth.api_url}/actions/{identifier}"
        try:
            response = await port.client.get(url, headers=await port.auth.headers())
            if response.status_code == 404:
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
    if done:
        logger.info(
            f"Bound the shipped Port actions to installation {installation!r}: "
            + ", ".join(done)
        )
