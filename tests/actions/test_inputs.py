"""Inputs as Port renders them: empty means absent, numbers may come as text."""

import pytest

from actions.inputs import (
    InvalidInput,
    choice,
    email,
    integer,
    optional_id,
    pagerduty_id,
    required_text,
    text,
)


def test_empty_values_are_absent() -> None:
    for value in (None, "", "   "):
        assert text({"x": value}, "x") is None
        assert integer({"x": value}, "x", 1, 72, default=4) == 4
        assert choice({"x": value}, "x", ("high", "low"), default="high") == "high"
        assert optional_id({"x": value}, "x") is None
    with pytest.raises(InvalidInput, match="Input x is required and was empty"):
        required_text({"x": ""}, "x")


def test_numbers_as_port_may_send_them() -> None:
    assert integer({"n": "12"}, "n", 1, 72) == 12
    assert integer({"n": 12.0}, "n", 1, 72) == 12
    for bad in (True, 1.5, "twelve", [1]):
        with pytest.raises(InvalidInput, match="must be a whole number"):
            integer({"n": bad}, "n", 1, 72)
    with pytest.raises(InvalidInput, match="it must be between 1 and 72"):
        integer({"n": 73}, "n", 1, 72)


def test_ids_emails_and_choices() -> None:
    assert pagerduty_id({"id": " P1A2B3C "}, "id") == "P1A2B3C"
    for bad in ("../users", "P1 2", "P1?x=1"):
        with pytest.raises(InvalidInput, match="not a PagerDuty id"):
            pagerduty_id({"id": bad}, "id")
    assert email({"e": "Jane@Example.com"}, "e") == "Jane@Example.com"
    with pytest.raises(InvalidInput, match="not an email address"):
        email({"e": "jane"}, "e")
    with pytest.raises(InvalidInput, match="it must be high or low"):
        choice({"u": "medium"}, "u", ("high", "low"))
    with pytest.raises(InvalidInput, match="must be text"):
        text({"t": 3}, "t")
