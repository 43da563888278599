"""Verification of PagerDuty V3 webhook deliveries, and the sealed signing secret.

PagerDuty signs each delivery with `X-PagerDuty-Signature: v1=<hex HMAC-SHA256>`
(several comma-separated values while a secret rotates), keyed by a secret it
reveals only once, in the response that creates the subscription. A
subscription's `delivery_method` (URL, custom headers) is fixed at creation,
but its `description` can be set later and is returned on every read. So the
integration seals the secret (AES-GCM, key derived from the PagerDuty token,
bound to the subscription's id and URL) into the description: every replica
and every restart that holds the same token recovers it with one read; anyone
else, read-only keys included, sees ciphertext. See README, "Webhook security".
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_HEADER = "x-pagerduty-signature"
_SEAL_LABEL = b"port-ocean/pagerduty/webhook-secret-seal/v2"
_NONCE_BYTES = 12
_SEAL_PATTERN = re.compile(r"\[seal:v2:([A-Za-z0-9_=-]+)\]")


def _seal_key(token: str) -> bytes:
    return hmac.new(token.encode(), _SEAL_LABEL, hashlib.sha256).digest()


def _binding(subscription_id: str, url: str) -> bytes:
    """Authenticated data: a seal only opens on the subscription it was made for."""
    return b"|".join((_SEAL_LABEL, subscription_id.encode(), url.encode()))


def seal_secret(secret: str, token: str, subscription_id: str, url: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_seal_key(token)).encrypt(
        nonce, secret.encode(), _binding(subscription_id, url)
    )
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_secret(
    sealed: str, token: str, subscription_id: str, url: str
) -> str | None:
    """The secret, or None when the seal was made with another token, for another
    subscription or URL, or was altered."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        opened = AESGCM(_seal_key(token)).decrypt(
            nonce, ciphertext, _binding(subscription_id, url)
        )
        return opened.decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError):
        return None


def with_seal(description: str, sealed: str) -> str:
    return f"{without_seal(description)} [seal:v2:{sealed}]"


def without_seal(description: str) -> str:
    return _SEAL_PATTERN.sub("", description).strip()


def seal_in(description: str) -> str | None:
    found = _SEAL_PATTERN.search(description)
    return found.group(1) if found else None


def signatures_in(header_value: str) -> list[str]:
    values = (part.strip() for part in header_value.split(","))
    # Only ASCII can be a hex digest (and compare_digest refuses other str).
    return [v[3:] for v in values if v.startswith("v1=") and v[3:].isascii()]


def sign(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def is_signed_by_any(
    raw_body: bytes, header_value: str, secrets: Iterable[str]
) -> bool:
    offered = signatures_in(header_value)
    for secret in secrets:
        expected = sign(raw_body, secret)
        # Every offered value is compared, whatever the outcome, in constant time.
        matches = [hmac.compare_digest(expected, value) for value in offered]
        if any(matches):
            return True
    return False


def configured_secrets(value: object) -> list[str]:
    """`webhookSecret`: one secret, or several comma-separated while rotating."""
    if not isinstance(value, str):
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
