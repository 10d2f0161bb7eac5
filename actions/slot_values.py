"""Reading what a customer typed as the value a form asked for: money, dates, choices.

Each reader returns None when the text does not hold a usable value; the form then counts
a failed answer. Money is Decimal with a currency code, never float.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CURRENCY_WORDS = {
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "kuai": "CNY",
    "renminbi": "CNY",
    "¥": "CNY",
    "￥": "CNY",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "$": "USD",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "€": "EUR",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "quid": "GBP",
    "£": "GBP",
    "jpy": "JPY",
    "yen": "JPY",
    "hkd": "HKD",
    "sgd": "SGD",
    "aud": "AUD",
    "cad": "CAD",
    "krw": "KRW",
    "won": "KRW",
}
AMOUNT = re.compile(
    r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(k|thousand)?(?![\w.])", re.IGNORECASE
)
LARGEST_AMOUNT = Decimal("100000000")
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def parse_currency(text: str) -> str | None:
    for token in re.findall(r"[a-z]+|[¥￥$€£]", text.lower()):
        if token in CURRENCY_WORDS:
            return CURRENCY_WORDS[token]
    return None


def parse_money(text: str, default_currency: str) -> tuple[Decimal, str] | None:
    """The one amount in ``text`` with its currency; None for none, several, zero or absurd."""
    cleaned = re.sub(r"[¥￥$€£]", " ", text)
    found = list(AMOUNT.finditer(cleaned))
    if len(found) != 1 or re.search(r"-\s*[¥￥$€£]?\s*\d", text):
        return None
    whole, cents, scale = found[0].groups()
    try:
        value = Decimal(whole.replace(",", "") + (f".{cents}" if cents else ""))
    except InvalidOperation:
        return None
    if scale:
        value *= 1000
    # Checked before rounding: quantize cannot hold 29 digits and would raise.
    if value <= 0 or value > LARGEST_AMOUNT:
        return None
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value <= 0:
        return None
    return value, parse_currency(text) or default_currency


def money_slot_value(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}"


def money_from_slot(value: str) -> dict[str, str]:
    amount, _, currency = value.partition(" ")
    return {"amount": amount, "currency": currency}


def parse_date(text: str, today: date) -> date | None:
    """A past or present date from the ways customers write one; None if unclear."""
    lowered = text.lower().strip()
    if "day before yesterday" in lowered:
        return today - timedelta(days=2)
    if "yesterday" in lowered:
        return today - timedelta(days=1)
    if "today" in lowered or "this morning" in lowered or "tonight" in lowered:
        return today
    ago = re.search(r"(\d{1,2}|a|one|two|three)\s+(day|days|week|weeks)\s+ago", lowered)
    if ago:
        count = {"a": 1, "one": 1, "two": 2, "three": 3}.get(ago.group(1))
        number = count if count is not None else int(ago.group(1))
        days = number * (7 if ago.group(2).startswith("week") else 1)
        return today - timedelta(days=days)
    iso = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", lowered)
    if iso:
        return _valid_past(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)), today)
    for index, weekday in enumerate(WEEKDAYS):
        if weekday in lowered:
            back = (today.weekday() - index) % 7 or 7
            return today - timedelta(days=back)
    for day, month in _days_and_months(lowered):
        found = _valid_past(today.year, month, day, today)
        if found and found > today:
            found = _valid_past(today.year - 1, month, day, today)
        return found
    return None


def _days_and_months(lowered: str) -> list[tuple[int, int]]:
    """(day, month) pairs written "3 march", "the 3rd of march" or "march 3"."""
    day_month = re.search(r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)", lowered)
    month_day = re.search(r"([a-z]+)\s+(\d{1,2})(?:st|nd|rd|th)?\b", lowered)
    pairs = []
    if day_month and day_month.group(2) in MONTHS:
        pairs.append((int(day_month.group(1)), MONTHS[day_month.group(2)]))
    if month_day and month_day.group(1) in MONTHS:
        pairs.append((int(month_day.group(2)), MONTHS[month_day.group(1)]))
    return pairs


def parse_future_date(text: str, today: date, max_days: int) -> date | None:
    """A date from today up to ``max_days`` ahead: "for 2 weeks", "until 20 december",
    "next friday", "2026-12-20"; None if unclear or too far."""
    lowered = text.lower().strip()
    found: date | None = None
    span = re.search(
        r"(\d{1,3}|a|one|two|three|four)\s+(day|days|week|weeks|month|months)", lowered
    )
    iso = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})", lowered)
    if "tomorrow" in lowered:
        found = today + timedelta(days=1)
    elif iso:
        try:
            found = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
    elif span:
        count = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4}.get(span.group(1))
        number = count if count is not None else int(span.group(1))
        unit = span.group(2)
        days = number * (7 if unit.startswith("week") else 30 if unit.startswith("month") else 1)
        found = today + timedelta(days=days)
    else:
        found = _weekday_or_calendar_ahead(lowered, today)
    if found is None or not today <= found <= today + timedelta(days=max_days):
        return None
    return found


def _weekday_or_calendar_ahead(lowered: str, today: date) -> date | None:
    for index, weekday in enumerate(WEEKDAYS):
        if weekday in lowered:
            return today + timedelta(days=(index - today.weekday()) % 7 or 7)
    for day, month in _days_and_months(lowered):
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
    return None


def _valid_past(year: int, month: int, day: int, today: date) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if found <= today or found.year == today.year else None


def match_choice(
    text: str,
    entity_values: list[str],
    items: list[dict[str, Any]],
    item_id: str,
    match_fields: tuple[str, ...],
    labels: dict[str, str],
) -> dict[str, Any] | None:
    """The one item the answer points at: by id, by a field's ending (a card's last four
    digits), or by words of its label ("the savings account", "Li Wei")."""
    wanted = [value.strip().lower() for value in entity_values if value.strip()]
    wanted.append(text.strip().lower())
    for value in wanted:
        if not value:
            continue
        hits = [
            item
            for item in items
            if str(item.get(item_id, "")).lower() == value
            or any(_field_matches(str(item.get(name, "")), value) for name in match_fields)
        ]
        if len(hits) == 1:
            return hits[0]
    words = set(re.findall(r"\w+", text.lower()))
    if words:
        hits = [
            item
            for item in items
            if words & set(re.findall(r"\w+", labels[str(item.get(item_id))].lower())) - {"card"}
        ]
        if len(hits) == 1:
            return hits[0]
    return None


def _field_matches(field_value: str, answer: str) -> bool:
    field_value = field_value.lower()
    if not field_value:
        return False
    digits = re.sub(r"\D", "", answer)
    if len(digits) == 4 and re.sub(r"\D", "", field_value).endswith(digits):
        return True
    return len(answer) >= 2 and answer in field_value


def match_option(text: str, choices: dict[str, str]) -> str | None:
    lowered = text.lower()
    hits = [
        key
        for key, title in choices.items()
        if re.search(rf"\b{re.escape(key.replace('_', ' ').lower())}\b", lowered)
        or lowered.strip() == title.lower()
    ]
    if len(hits) == 1:
        return hits[0]
    numbers = re.findall(r"\d+", lowered)
    if len(numbers) == 1 and numbers[0] in choices:
        return numbers[0]
    return None
