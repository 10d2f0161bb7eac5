"""Hypothesis over the sandbox's amount parser: whatever arrives, it is refused with ValueError
or becomes exact money that every database column and Decimal context can hold."""

from __future__ import annotations

import os
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sandbox.money import CENT, MAX_AMOUNT_DIGITS, parse_amount

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50")) * 10
ANYTHING = st.one_of(
    st.text(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"-?[0-9]{0,40}(\.[0-9]{0,5})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)


@given(ANYTHING)
@settings(max_examples=EXAMPLES, deadline=None)
def test_an_amount_is_refused_or_exact_bounded_money(value: object) -> None:
    try:
        amount = parse_amount(value)
    except ValueError:
        return
    assert isinstance(amount, Decimal) and amount.is_finite() and amount >= 0
    assert amount == amount.quantize(CENT)
    assert amount < Decimal(10) ** MAX_AMOUNT_DIGITS


@given(st.integers(0, 10**MAX_AMOUNT_DIGITS - 1), st.integers(0, 99))
@settings(max_examples=EXAMPLES, deadline=None)
def test_every_plain_amount_is_read_exactly(units: int, cents: int) -> None:
    assert parse_amount(f"{units}.{cents:02d}") == Decimal(units) + Decimal(cents) / 100
