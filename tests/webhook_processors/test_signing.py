from hypothesis import given
from hypothesis import strategies as st

from webhook_processors.signing import (
    SEALED_SECRET_HEADER,
    candidate_secrets,
    is_signed_by_any,
    seal_secret,
    sign,
    signatures_in,
    unseal_secret,
)

TOKEN = "pd-token-0123456789abcdef"
BODY = b'{"event":{"event_type":"incident.resolved","data":{"id":"Q1"}}}'


def test_sealed_secret_opens_only_with_the_same_token() -> None:
    sealed = seal_secret("whsec-1", TOKEN)
    assert "whsec-1" not in sealed
    assert unseal_secret(sealed, TOKEN) == "whsec-1"
    assert unseal_secret(sealed, TOKEN + "x") is None
    assert unseal_secret("not base64 !!", TOKEN) is None
    assert seal_secret("whsec-1", TOKEN) != sealed, "fresh nonce each time"


def test_any_of_several_signatures_may_match_during_rotation() -> None:
    header = f"v1={sign(BODY, 'old')},v1={sign(BODY, 'new')}"
    assert signatures_in(header) == [sign(BODY, "old"), sign(BODY, "new")]
    assert is_signed_by_any(BODY, header, ["new"])
    assert is_signed_by_any(BODY, header, ["other", "old"])
    assert not is_signed_by_any(BODY, header, ["other"])


def test_signature_is_over_the_exact_raw_bytes() -> None:
    header = f"v1={sign(BODY, 's')}"
    assert not is_signed_by_any(BODY + b" ", header, ["s"])
    assert not is_signed_by_any(BODY, header.replace("v1=", "v0="), ["s"])
    assert not is_signed_by_any(BODY, "", ["s"])
    assert not is_signed_by_any(BODY, header, [])


def test_candidate_secrets_combine_configured_and_sealed() -> None:
    headers = {SEALED_SECRET_HEADER.lower(): seal_secret("from-header", TOKEN)}
    assert candidate_secrets(headers, TOKEN, "configured") == [
        "configured",
        "from-header",
    ]
    assert candidate_secrets(headers, "another-token-123456", None) == []
    assert candidate_secrets({}, TOKEN, None) == []


@given(body=st.binary(max_size=512), header=st.text(max_size=300))
def test_junk_signature_headers_never_verify(body: bytes, header: str) -> None:
    assert not is_signed_by_any(body, header, ["secret"])
