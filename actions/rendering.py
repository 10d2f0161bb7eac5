"""Turns back-end data into what the customer reads, and fills in the back-end calls.

``render_answer`` is the one place an operation's result becomes its answer: which response
(the answer, its variant for the result's state, or the ``empty:`` one for an empty list), with
which values, and the list rows rendered through the ``<answer>_item`` response. Responses in
domain/<line>.yml name values as ``{card_card_number_masked}`` or ``{amount_due}``: the path
through the data joined by underscores. Money shows with its currency, dates as
"19 Dec 2026", times on the customer's clock with its name ("19 Dec 2026, 12:55 (Beijing
time)"; the back end's times are UTC), rates as percentages, and masks with bullets
("•••• 4464": web chat renders Markdown, where "**** **** **** 4464" turns partly bold).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from registry.catalogue import PLACEHOLDER, Operation

# At most this many rows of a list are shown: a chat message, not a statement.
MAX_LISTED_ITEMS = 5
# Keys whose value is money when a "currency" sits beside them.
MONEY_KEYS = {"amount", "limit"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# The hidden digits of a masked card, account or phone number ("**** **** **** 4464",
# "****8380", "+86 135****1234"): two or more asterisks, groups of them joined by a space or
# a dash. A single asterisk, as in the merchant "SQ *COFFEE", is not a mask.
MASKED_DIGITS = re.compile(r"\*{2,}(?:[ -]\*{2,})*")
# Shown instead: no channel's renderer (Markdown in web chat, Slack's mrkdwn) reads it as
# formatting.
MASK = "••••"
# The company's customers are in China: a profile without a usable time zone is read as theirs.
HOME_TIME_ZONE = "Asia/Shanghai"
# What customers call a zone; its abbreviation would not do ("CST" is also US Central time).
ZONE_NAMES = {"Asia/Shanghai": "Beijing time"}


def money_text(amount: Any, currency: str) -> str:
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return f"{amount} {currency}"
    return f"{value:,.2f} {currency}"


def customer_zone(profile: dict[str, Any] | None) -> ZoneInfo:
    """The customer's time zone, from their profile, else the home market's."""
    name = (profile or {}).get("time_zone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(HOME_TIME_ZONE)


def zone_name(moment: datetime, zone: ZoneInfo) -> str:
    named = ZONE_NAMES.get(zone.key)
    if named:
        return named
    offset = moment.strftime("%z")
    return "UTC" if offset == "+0000" else f"UTC{offset[:3]}:{offset[3:]}"


def time_text(moment: datetime, zone: ZoneInfo, weekday: bool = False) -> str:
    """A moment on the customer's clock, saying which clock: "30 Nov 2026, 12:55 (Beijing
    time)", after the day of the week with ``weekday`` (for times to come: "Mon 30 Nov...").
    A time without a zone is UTC, as the back end keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(zone)
    day = f"{local:%a} {local.day}" if weekday else str(local.day)
    return f"{day} {local:%b %Y, %H:%M} ({zone_name(local, zone)})"


def _scalar_text(key: str, value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    if ISO_DATETIME.match(text):
        try:
            return time_text(datetime.fromisoformat(text.replace("Z", "+00:00")), zone)
        except ValueError:
            return text
    if ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).strftime("%d %b %Y").lstrip("0")
        except ValueError:
            return text
    if (key.endswith("_rate") or key.endswith("yield")) and re.fullmatch(r"0\.\d+", text):
        return f"{Decimal(text) * 100:.2f}%".replace(".00%", "%")
    if key.endswith("_status") or key in {
        "status",
        "kind",
        "reason",
        "product",
        "item",
        "category",
    }:
        return text.replace("_", " ")
    return MASKED_DIGITS.sub(MASK, text)


def display_values(data: Any, prefix: str = "", zone: ZoneInfo | None = None) -> dict[str, str]:
    """Every value of ``data`` as text, keyed by its underscore-joined path; times on the
    clock of ``zone``, the customer's (``customer_zone``)."""
    if zone is None:
        zone = ZoneInfo(HOME_TIME_ZONE)
    values: dict[str, str] = {}
    if isinstance(data, dict):
        if isinstance(data.get("currency"), str) and "amount" in data and prefix:
            values[prefix] = money_text(data["amount"], data["currency"])
        for key, value in data.items():
            path = f"{prefix}_{key}" if prefix else str(key)
            if key in MONEY_KEYS and isinstance(data.get("currency"), str):
                values[path] = money_text(value, data["currency"])
            elif isinstance(value, (dict, list)):
                values.update(display_values(value, path, zone))
            else:
                values[path] = _scalar_text(str(key), value, zone)
                if str(key).endswith("number") and isinstance(value, str):
                    # Long numbers are shown by their last four digits only.
                    values[f"{path}_last4"] = value.replace(" ", "")[-4:]
    elif isinstance(data, list):
        values[f"{prefix}_count"] = str(len(data))
        if data and all(not isinstance(item, (dict, list)) for item in data):
            values[prefix] = ", ".join(_scalar_text(prefix, item, zone) for item in data)
        elif data:
            values.update(display_values(data[0], f"{prefix}_first", zone))
    elif prefix:
        values[prefix] = _scalar_text(prefix, data, zone)
    return values


def fill_text(template: str, values: dict[str, str]) -> str:
    """Fills ``{name}`` placeholders; an unknown name stays visible rather than failing."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


class UnfilledPlaceholder(KeyError):
    """A ``{name.key}`` that names nothing in the data it is filled from."""

    def __str__(self) -> str:
        return f"placeholder {{{self.args[0]}}} names nothing in the data"


def lookup(context: dict[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise UnfilledPlaceholder(dotted)
    return value


def fill_path(template: str, context: dict[str, Any]) -> str:
    """A call's path with ``{slot.field}`` placeholders filled in, each one URL-quoted."""
    return PLACEHOLDER.sub(
        lambda match: urllib.parse.quote(str(lookup(context, match.group(1))), safe=""),
        template,
    )


def fill_body(template: Any, context: dict[str, Any]) -> Any:
    """A request body template filled from the context.

    A string that is exactly one placeholder takes the value itself (a number stays a
    number); any other string is filled as text.
    """
    if isinstance(template, dict):
        return {key: fill_body(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [fill_body(value, context) for value in template]
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return lookup(context, whole.group(1))
        return PLACEHOLDER.sub(lambda match: str(lookup(context, match.group(1))), template)
    return template


def response_text(domain: dict[str, Any], response: str) -> str | None:
    """The first text variant of a response in the domain, for rendering list items."""
    variants = (domain.get("responses") or {}).get(response) or []
    for variant in variants:
        if variant.get("text"):
            return str(variant["text"])
    return None


@dataclass(frozen=True)
class Answer:
    """What the customer reads for one operation's result."""

    response: str
    values: dict[str, str]
    # Said after the answer (the operation's ``then:``); never after an empty list.
    then: str | None = None
    # The list the answer was to show is empty: ``response`` is the operation's ``empty:``.
    empty: bool = False


def context_values(context: dict[str, Any]) -> dict[str, str]:
    """The request's context (profile, chosen items, money, quote) as template values, times
    on the clock of the customer whose profile it holds."""
    zone = customer_zone(context.get("profile"))
    values: dict[str, str] = {}
    for key, value in context.items():
        values.update(display_values(value, key, zone))
    return values


def item_label(
    template: str, item: dict[str, Any], item_id: str, zone: ZoneInfo | None = None
) -> str:
    """One of the customer's things (a card, an account) as a button or choice shows it."""
    return fill_text(template, {**display_values(item, zone=zone), "id": item_id})


def render_answer(
    operation: Operation, domain: dict[str, Any], context: dict[str, Any], result: Any
) -> Answer:
    """The answer to ``operation`` for the back end's ``result``, with the request's
    ``context`` (profile, chosen items) available to its response too."""
    zone = customer_zone(context.get("profile"))
    values = context_values(context)
    values.update(display_values(result, zone=zone))
    if operation.list_key:
        listed = (result or {}).get(operation.list_key) or []
        if not listed:
            return Answer(operation.empty or "utter_nothing_found", values, empty=True)
        item_template = response_text(domain, f"{operation.answer}_item") or "{id}"
        values["items"] = "\n".join(
            "- " + fill_text(item_template, display_values(item, zone=zone))
            for item in listed[:MAX_LISTED_ITEMS]
        )
    return Answer(_answer_variant(operation, domain, result), values, then=operation.then)


def _answer_variant(operation: Operation, domain: dict[str, Any], result: Any) -> str:
    """The answer, or its variant for the result's state (``utter_x_pending``) if any."""
    if operation.answer_by and isinstance(result, dict):
        try:
            state = lookup(result, operation.answer_by)
        except KeyError:
            return operation.answer
        variant = f"{operation.answer}_{state}"
        if variant in (domain.get("responses") or {}):
            return variant
    return operation.answer
