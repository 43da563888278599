"""``/v1/auth/access_token`` and ``/v1/organization``: tokens Ocean can decode."""

from __future__ import annotations

import base64
import json
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.port.common import (
    JSON,
    PortError,
    RouteRegistrar,
    Settings,
    json_object,
    ok,
)

TOKEN_TTL_SECONDS = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(client_id: str, org_id: str) -> str:
    """An unsigned JWT-shaped token; Ocean decodes it without verifying.

    ``isMachine`` is true: Ocean's actions processor only starts for machine users.
    """
    header = {"alg": "HS256", "typ": "JWT"}
    payload = {
        "clientId": client_id,
        "orgId": org_id,
        "isMachine": True,
        "iat": int(time.time()),
        "exp": int(time.time()) + TOKEN_TTL_SECONDS,
        "jti": secrets.token_hex(8),
    }
    parts = [
        _b64url(json.dumps(header).encode()),
        _b64url(json.dumps(payload).encode()),
        _b64url(secrets.token_bytes(16)),
    ]
    return ".".join(parts)


class AuthStore:
    """Issued bearer tokens; any credential pair but the configured bad one is accepted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens: dict[str, float] = {}

    def issue_token(self, client_id: str, client_secret: str) -> JSON:
        if not client_id or not client_secret:
            raise PortError(
                422, "invalid_request", "clientId and clientSecret are required"
            )
        bad = self.settings.bad_credentials
        if bad is not None and (client_id, client_secret) == tuple(bad):
            raise PortError(401, "unauthorized", "Invalid client credentials")
        token = make_token(client_id, self.settings.org_id)
        self.tokens[token] = time.time() + TOKEN_TTL_SECONDS
        return {
            "ok": True,
            "accessToken": token,
            "expiresIn": TOKEN_TTL_SECONDS,
            "tokenType": "Bearer",
        }

    def check_token(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        expires = self.tokens.get(token.strip())
        return expires is not None and expires > time.time()

    def revoke_tokens(self) -> int:
        count = len(self.tokens)
        self.tokens.clear()
        return count


def add_auth_routes(route: RouteRegistrar, auth: AuthStore) -> None:
    settings = auth.settings

    @route("/v1/auth/access_token", ["POST"], auth=False)
    async def access_token(request: Request) -> Response:
        body = await json_object(request)
        return JSONResponse(
            auth.issue_token(
                str(body.get("clientId") or ""), str(body.get("clientSecret") or "")
            )
        )

    @route("/v1/organization", ["GET"])
    async def organization(request: Request) -> Response:
        return ok(
            {
                "organization": {
                    "id": settings.org_id,
                    "name": "Port stand-in",
                    "featureFlags": list(settings.feature_flags),
                    "isBlocked": False,
                }
            }
        )
