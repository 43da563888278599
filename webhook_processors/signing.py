"""Verification of PagerDuty V3 webhook deliveries.

PagerDuty signs each delivery with `X-PagerDuty-Signature: v1=<hex HMAC-SHA256>`
(several comma-separated values while a secret rotates), keyed by a secret it
reveals only once, in the response that creates the subscription. So that every
replica and every restart can still verify, the integration seals that secret
with a key derived from the PagerDuty token and asks PagerDuty to send the
sealed value back as a custom header on every delivery. Only holders of the
token can unseal it; seeing a delivery does not reveal the signing secret.
"""

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_HEADER = "x-pagerduty-signature"
SEALED_SECRET_HEADER = "X-Port-Ocean-Sealed-Secret"
_SEAL_LABEL = b"port-ocean/pagerduty/webhook-secret-seal/v1"
_NONCE_BYTES = 12


def _seal_key(token: str) -> bytes:
    return hmac.new(token.encode(), _SEAL_LABEL, hashlib.sha256).digest()


def seal_secret(secret: str, token: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_seal_key(token)).encrypt(nonce, secret.encode(), _SEAL_LABEL)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_secret(sealed: str, token: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return AESGCM(_seal_key(token)).decrypt(nonce, ciphertext, _SEAL_LABEL).decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeDecodeError):
        return None


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


def candidate_secrets(
    headers: Mapping[str, str], token: str, configured_secret: str | None
) -> list[str]:
    secrets = [configured_secret] if configured_secret else []
    sealed = headers.get(SEALED_SECRET_HEADER.lower())
    if sealed and (secret := unseal_secret(sealed, token)):
        secrets.append(secret)
    return secrets
