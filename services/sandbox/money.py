"""Money as Decimal with a currency; floats never enter this module."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
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
        raise ValueError('amount must be a decimal string such as "100.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("amount is not a decimal number") from exc
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ValueError("amount must have at most two decimal places")
    return amount


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
