"""Money as Decimal with a currency; floats never enter this module."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
# A trillion in any currency is more than any product allows and leaves NUMERIC(18, 2) columns
# (and sums of them) room, so no amount can overflow the database or Decimal's precision.
MAX_AMOUNT_DIGITS = 12
# ASCII digits only: Decimal() also reads "1e30", "NaN", "1_000" and other scripts' digits.
AMOUNT_PATTERN = re.compile(rf"[0-9]{{1,{MAX_AMOUNT_DIGITS}}}(\.[0-9]{{1,2}})?")
AMOUNT_RULE = (
    f'amount must be a decimal string such as "100.00": digits only, at most '
    f"{MAX_AMOUNT_DIGITS} before the point and 2 after"
)
SUPPORTED_CURRENCIES = ("CNY", "USD", "EUR", "HKD", "GBP", "JPY", "SGD", "AUD")

# Sandbox mid-market rates: units of CNY for one unit of the currency.
CNY_PER_UNIT: dict[str, Decimal] = {
    "CNY": Decimal("1"),
    "USD": Decimal("7.1850"),
    "EUR": Decimal("7.8120"),
    "HKD": Decimal("0.9210"),
    "GBP": Decimal("9.1240"),
    "JPY": Decimal("0.0481"),
    "SGD": Decimal("5.3530"),
    "AUD": Decimal("4.7160"),
}
# The bank's margin on each side of the mid rate.
FX_SPREAD = Decimal("0.005")
RATE_PLACES = Decimal("0.000001")


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: Any) -> Decimal:
    """Accept amounts only as strings (or ints) so no binary float can sneak in from JSON."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(AMOUNT_RULE)
    text = str(value)
    if not AMOUNT_PATTERN.fullmatch(text):
        raise ValueError(AMOUNT_RULE)
    return Decimal(text)


def parse_currency(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in SUPPORTED_CURRENCIES:
        raise ValueError(f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}")
    return value.upper()


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(quantize(amount)), "currency": currency}


def customer_rate(sell: str, buy: str) -> Decimal:
    """Units of `buy` the customer receives for one unit of `sell`, spread included."""
    if sell == buy:
        return Decimal("1")
    mid = CNY_PER_UNIT[sell] / CNY_PER_UNIT[buy]
    return (mid * (1 - FX_SPREAD)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def convert(amount: Decimal, sell: str, buy: str) -> Decimal:
    return quantize(amount * customer_rate(sell, buy))
