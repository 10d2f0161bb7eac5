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
# "2 wan" is 20,000 and "3 hundred" 300: a scale word multiplies the number before it.
SCALES = {
    "hundred": 100,
    "k": 1000,
    "thousand": 1000,
    "grand": 1000,
    "wan": 10000,
    "million": 1000000,
}
AMOUNT = re.compile(
    r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?"
    rf"((?:\s*(?:{'|'.join(SCALES)})(?![\w.]))*)(?![\w.])",
    re.IGNORECASE,
)
# Written as a change, not a figure ("raise it by 5k", "5k more"): the total is not said.
CHANGE_BEFORE = re.compile(r"\b(by|another|extra|additional)\s*[¥￥$€£]?\s*$", re.IGNORECASE)
CHANGE_AFTER = re.compile(r"^\s*[a-z]*\s*(more|higher|extra|less|lower)\b", re.IGNORECASE)
NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
} | {
    word: 10 * tens
    for tens, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)
}
NUMBER_IN_WORDS = (
    rf"\b({'|'.join(NUMBER_WORDS)})(?:[\s-]+({'|'.join(list(NUMBER_WORDS)[1:10])}))?\b"
)
# A number word is an amount before a scale or a currency ("five hundred", "fifty yuan") or
# as the whole answer ("fifty"), so "the savings one" holds no amount.
NUMBER_WORD = re.compile(
    NUMBER_IN_WORDS
    + rf"(?=\s*(?:{'|'.join(SCALES)}|{'|'.join(w for w in CURRENCY_WORDS if w.isalpha())})\b)"
    + rf"|^\s*{NUMBER_IN_WORDS}\s*$"
)
# The rest of "three hundred and fifty", "2 thousand 300": added to the scaled part.
SCALED_AND_REST = re.compile(
    rf"(\d+)\s*(hundred|thousand|wan)(?:\s+and)?\s+(?:{NUMBER_IN_WORDS}|(\d+)\b)"
    rf"(?!\s*(?:[.,]\d|{'|'.join(SCALES)}|months?\b|days?\b|weeks?\b|years?\b|instal))"
)
# "a hundred", "a thousand yuan": "a" is one only before a scale word.
ONE_OF_A_SCALE = re.compile(rf"\ba\s+(?=(?:{'|'.join(SCALES)})\b)")
# Chinese characters customers mix into English: 2万 (wan), 3千 (thousand), 元 and 块 (yuan).
CHINESE_MONEY_CHARACTERS = {
    "万": " wan",
    "千": " thousand",
    "百": " hundred",
    "元": " yuan",
    "块": " yuan",
}
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


# Checked before the single words: "hong kong dollars" are not US dollars.
CURRENCY_PHRASES = {
    "hong kong dollar": "HKD",
    "hk dollar": "HKD",
    "hk$": "HKD",
    "singapore dollar": "SGD",
    "s$": "SGD",
    "australian dollar": "AUD",
    "a$": "AUD",
    "canadian dollar": "CAD",
    "c$": "CAD",
    "us dollar": "USD",
    "us$": "USD",
}


def parse_currency(text: str) -> str | None:
    lowered = _amount_in_digits(text)
    for phrase, code in CURRENCY_PHRASES.items():
        if re.search(rf"(?<![a-z]){re.escape(phrase)}", lowered):
            return code
    for token in re.findall(r"[a-z]+|[¥￥$€£]", lowered):
        if token in CURRENCY_WORDS:
            return CURRENCY_WORDS[token]
    return None


def _amount_in_digits(text: str) -> str:
    """``text`` in lower case with amounts in words written in digits: "three hundred" is
    "3 hundred", "2万" is "2 wan"."""
    lowered = text.lower()
    for character, words in CHINESE_MONEY_CHARACTERS.items():
        lowered = lowered.replace(character, words)
    lowered = ONE_OF_A_SCALE.sub("1 ", lowered)

    def in_digits(found: re.Match[str]) -> str:
        tens, ones = found.group(1, 2) if found.group(1) else found.group(3, 4)
        return str(NUMBER_WORDS[tens] + (NUMBER_WORDS[ones] if ones else 0))

    lowered = NUMBER_WORD.sub(in_digits, lowered)

    def summed(found: re.Match[str]) -> str:
        scale = SCALES[found.group(2)]
        if found.group(5):
            rest = int(found.group(5))
        else:
            rest = NUMBER_WORDS[found.group(3)] + (
                NUMBER_WORDS[found.group(4)] if found.group(4) else 0
            )
        if rest >= scale:
            # "2 thousand 3000" is not one amount; left as it is, it reads as two.
            return found.group(0)
        return str(int(found.group(1)) * scale + rest)

    return SCALED_AND_REST.sub(summed, lowered)


def parse_money(text: str, default_currency: str) -> tuple[Decimal, str] | None:
    """The one amount in ``text`` with its currency; None for none, several, zero, absurd,
    or a change without its total ("by 5k", "500 more"), which the customer is asked about."""
    spoken = _amount_in_digits(text)
    cleaned = re.sub(r"[¥￥$€£]", " ", spoken)
    found = list(AMOUNT.finditer(cleaned))
    if len(found) != 1 or re.search(r"-\s*[¥￥$€£]?\s*\d", spoken):
        return None
    amount = found[0]
    if CHANGE_BEFORE.search(cleaned[: amount.start()]) or CHANGE_AFTER.match(
        cleaned[amount.end() :]
    ):
        return None
    whole, cents, scales = amount.groups()
    try:
        value = Decimal(whole.replace(",", "") + (f".{cents}" if cents else ""))
    except InvalidOperation:
        return None
    for scale in re.findall(r"[a-z]+", scales.lower()):
        value *= SCALES[scale]
    # Checked before rounding: quantize cannot hold 29 digits and would raise.
    if value <= 0 or value > LARGEST_AMOUNT:
        return None
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value <= 0:
        return None
    return value, parse_currency(text) or default_currency


# Amounts named by their part of a figure the operation knows (the bill being repaid).
SHARE_WORDS = {
    "all": re.compile(
        r"\b(all( of it)?|everything|(the )?(full|whole|entire|total)( amount| bill| balance)?|"
        r"in full|pay it off|clear it|what(ever)? i owe)\b"
    ),
    "half": re.compile(r"\b(half|50 ?%)\b"),
    "minimum": re.compile(r"\b(min|minimum|least)\b"),
}


def parse_share(text: str) -> str | None:
    """ "all", "half" or "minimum" when ``text`` names an amount that way and holds no figure
    ("half of it", "the minimum", "pay it off"); None otherwise."""
    lowered = text.lower()
    if AMOUNT.search(re.sub(r"50 ?%", "", _amount_in_digits(lowered))):
        return None
    named = [share for share, words in SHARE_WORDS.items() if words.search(lowered)]
    if named == ["all", "half"]:
        # "half of the whole bill" is a half.
        named = ["half"]
    return named[0] if len(named) == 1 else None


def share_of(figure: Decimal, share: str) -> Decimal:
    """The ``share`` ("all", "half", "minimum") of ``figure``, which is already the whole or
    the minimum itself; a half is rounded to the cent."""
    part = figure / 2 if share == "half" else figure
    return part.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
    month = _month_named(text)
    if month is not None:
        # "The August one": the item dated in that month, or none; never one of another month.
        hits = [item for item in items if any(_dated_in(value, month) for value in item.values())]
        return hits[0] if len(hits) == 1 else None
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


def _month_named(text: str) -> int | None:
    """The one month ``text`` names in full ("the August one"); "may I" is not May."""
    lowered = re.sub(r"\bmay (i|we|you)\b", "", text.lower())
    named = {
        MONTHS[word]
        for word in re.findall(r"[a-z]+", lowered)
        if word in MONTHS and (len(word) > 3 or word == "may")
    }
    return named.pop() if len(named) == 1 else None


def _dated_in(value: Any, month: int) -> bool:
    """Whether a back-end value is a date or a period ("2026-08", "2026-08-14T...") in ``month``."""
    found = re.match(r"^\d{4}-(\d{2})(?:$|-)", str(value))
    return found is not None and int(found.group(1)) == month


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
