from hypothesis import given
from hypothesis import strategies as st

from webhook_processors.signing import (
    configured_secrets,
    is_signed_by_any,
    seal_in,
    seal_secret,
    sign,
    signatures_in,
    unseal_secret,
    with_seal,
    without_seal,
)

TOKEN = "pd-token-0123456789abcdef"
URL = "https://ocean.example.com/integration/webhook"
BODY = b'{"event":{"event_type":"incident.resolved","data":{"id":"Q1"}}}'


def test_sealed_secret_opens_only_with_the_same_token() -> None:
    sealed = seal_secret("whsec-1", TOKEN, "S1", URL)
    assert "whsec-1" not in sealed
    assert unseal_secret(sealed, TOKEN, "S1", URL) == "whsec-1"
    assert unseal_secret(sealed, TOKEN + "x", "S1", URL) is None
    assert unseal_secret("not base64 !!", TOKEN, "S1", URL) is None
    assert seal_secret("whsec-1", TOKEN, "S1", URL) != sealed, "fresh nonce each time"


def test_a_seal_opens_only_on_the_subscription_and_url_it_was_made_for() -> None:
    sealed = seal_secret("whsec-1", TOKEN, "S1", URL)
    assert unseal_secret(sealed, TOKEN, "S2", URL) is None, "copied to another id"
    assert unseal_secret(sealed, TOKEN, "S1", URL + "/other") is None


def test_the_seal_rides_in_the_description_and_can_be_found_again() -> None:
    sealed = seal_secret("whsec-1", TOKEN, "S1", URL)
    description = with_seal("Port Ocean PagerDuty", sealed)
    assert seal_in(description) == sealed
    assert without_seal(description) == "Port Ocean PagerDuty"
    assert seal_in(with_seal(description, "AAAA")) == "AAAA", "one seal at a time"
    assert seal_in("made by hand") is None


def test_webhook_secret_may_hold_several_secrets_while_rotating() -> None:
    assert configured_secrets("old, new ,") == ["old", "new"]
    assert configured_secrets("") == [] and configured_secrets(None) == []


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


@given(body=st.binary(max_size=512), header=st.text(max_size=300))
def test_junk_signature_headers_never_verify(body: bytes, header: str) -> None:
    assert not is_signed_by_any(body, header, ["secret"])
