"""A customer's profile (any JSON from the back end) as lines a person reads at a glance,
e.g. "Card ending 4821: frozen", and as values that fill a response's placeholders."""

from __future__ import annotations

from typing import Any

# Fields that name one item of a list, in order of preference, and how they read.
ENDING_KEYS = ("last4", "last_four", "card_last4", "number_last4", "account_number_last4")
NAMING_KEYS = (
    "card_number_masked",
    "number_masked",
    "account_number",
    "reference",
    "id",
    "name",
    "title",
)
NAMING_SUFFIXES = ("_number", "_id", "_reference")
STATUS_KEY = "status"


def humanise(key: str) -> str:
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def singular(noun: str) -> str:
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith("sses"):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun[:-1]
    return noun


def readable(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    # Identifiers such as bank_account read as words.
    if "_" in text and " " not in text and text.islower():
        return text.replace("_", " ")
    return text


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def profile_lines(profile: dict[str, Any] | None) -> list[str]:
    lines: list[str] = []
    for key, value in (profile or {}).items():
        lines.extend(_lines(humanise(key), value))
    return lines


def _lines(label: str, value: Any) -> list[str]:
    if is_empty(value):
        return []
    if isinstance(value, dict):
        return [f"{label} {line[:1].lower()}{line[1:]}" for line in profile_lines(value)]
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return [_item_line(singular(label), item) for item in value]
        return [f"{label}: {', '.join(readable(item) for item in value)}"]
    return [f"{label}: {readable(value)}"]


def _item_line(noun: str, item: dict[str, Any]) -> str:
    """One item of a list, e.g. {"last4": "4821", "status": "frozen"} in "cards"."""
    used: set[str] = set()
    head = noun
    ending = next((key for key in ENDING_KEYS if not is_empty(item.get(key))), None)
    naming = next((key for key in NAMING_KEYS if not is_empty(item.get(key))), None) or next(
        (
            key
            for key, value in item.items()
            if key.endswith(NAMING_SUFFIXES) and not is_empty(value)
        ),
        None,
    )
    if ending:
        head, used = f"{noun} ending {item[ending]}", {ending}
    elif naming:
        head, used = f"{noun} {item[naming]}", {naming}
    details = []
    if not is_empty(item.get(STATUS_KEY)):
        details.append(readable(item[STATUS_KEY]))
        used.add(STATUS_KEY)
    for key, value in item.items():
        if key in used or is_empty(value) or isinstance(value, dict | list):
            continue
        details.append(f"{humanise(key).lower()} {readable(value)}")
    return f"{head}: {', '.join(details)}" if details else head


def profile_values(profile: dict[str, Any] | None) -> dict[str, str]:
    """The profile's plain values by field name (nested ones as parent_child)."""
    values: dict[str, str] = {}
    for key, value in (profile or {}).items():
        if isinstance(value, dict):
            for inner, nested in profile_values(value).items():
                values[f"{key}_{inner}"] = nested
        elif isinstance(value, list):
            if value and not any(isinstance(item, dict | list) for item in value):
                values[key] = ", ".join(readable(item) for item in value)
        elif not is_empty(value):
            values[key] = readable(value)
    return values
