"""Answers typed into forms are read the way customers write them; money stays Decimal."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from actions.operation_runner import button_payload
from actions.slot_values import (
    match_choice,
    match_option,
    parse_date,
    parse_future_date,
    parse_money,
    parse_share,
    share_of,
)
from channels.redaction import redact

TODAY = date(2026, 11, 29)  # a Sunday


@pytest.mark.parametrize(
    "text, expected",
    [
        ("200", (Decimal("200.00"), "CNY")),
        ("¥1,200.50", (Decimal("1200.50"), "CNY")),
        ("send 300 usd", (Decimal("300.00"), "USD")),
        ("5k", (Decimal("5000.00"), "CNY")),
        ("2.5k rmb", (Decimal("2500.00"), "CNY")),
        ("about 80 dollars", (Decimal("80.00"), "USD")),
        ("€45.5", (Decimal("45.50"), "EUR")),
        ("3 hundred yuan", (Decimal("300.00"), "CNY")),
        ("invest three hundred and fifty", (Decimal("350.00"), "CNY")),
        ("2 wan", (Decimal("20000.00"), "CNY")),
        ("2万", (Decimal("20000.00"), "CNY")),
        ("300元", (Decimal("300.00"), "CNY")),
        ("a thousand", (Decimal("1000.00"), "CNY")),
        ("2 thousand 300 yuan", (Decimal("2300.00"), "CNY")),
        ("10 grand", (Decimal("10000.00"), "CNY")),
        ("fifty", (Decimal("50.00"), "CNY")),
        ("twenty-five dollars", (Decimal("25.00"), "USD")),
        ("$500", (Decimal("500.00"), "USD")),
        ("300 hong kong dollars", (Decimal("300.00"), "HKD")),
        ("take 500 out of the money market fund", (Decimal("500.00"), "CNY")),
    ],
)
def test_amounts_are_read_with_their_currency(text, expected):
    assert parse_money(text, "CNY") == expected


@pytest.mark.parametrize(
    "text",
    [
        "lots",
        "",
        "0",
        "-5",
        "200 or 300",
        "1000000000",
        "🙂",
        "send 99999999999999999999999999999 yuan",
        "1" * 400,
        "999999999999999999999999999k",
        # A change is not the total: "raise it by 5k" is asked about, never read as 5,000.
        "by 5k",
        "5k more",
        "another 500",
        # Numbers that are not money, or several figures in words.
        "the savings one",
        "one thousand two hundred",
        "5 hundred 6 months",
        "2 thousand 3000",
    ],
)
def test_no_amount_zero_several_or_absurd_is_not_an_answer(text):
    assert parse_money(text, "CNY") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("yesterday", date(2026, 11, 28)),
        ("today", TODAY),
        ("3 days ago", date(2026, 11, 26)),
        ("a week ago", date(2026, 11, 22)),
        ("2026-10-03", date(2026, 10, 3)),
        ("march 3", date(2026, 3, 3)),
        ("the 5th of june", date(2026, 6, 5)),
        ("on friday", date(2026, 11, 27)),
        ("december 24", date(2025, 12, 24)),
    ],
)
def test_dates_are_read_in_the_past(text, expected):
    assert parse_date(text, TODAY) == expected


def test_a_date_that_does_not_exist_is_not_an_answer():
    assert parse_date("february 30", TODAY) is None
    assert parse_date("soon", TODAY) is None


CARDS = [
    {"card_id": "CD1", "card_number_masked": "**** **** **** 1313"},
    {"card_id": "CD2", "card_number_masked": "**** **** **** 8428"},
]
LABELS = {"CD1": "debit card **** 1313", "CD2": "credit card **** 8428"}


def test_a_card_is_found_by_its_last_four_digits_or_its_id():
    assert (
        match_choice("the one ending 8428", [], CARDS, "card_id", ("card_number_masked",), LABELS)[
            "card_id"
        ]
        == "CD2"
    )
    assert (
        match_choice("", ["CD1"], CARDS, "card_id", ("card_number_masked",), LABELS)["card_id"]
        == "CD1"
    )


def test_an_answer_matching_no_item_or_several_is_not_a_choice():
    assert match_choice("9999", [], CARDS, "card_id", ("card_number_masked",), LABELS) is None
    assert match_choice("card", [], CARDS, "card_id", ("card_number_masked",), LABELS) is None


def test_options_are_matched_by_keyword_or_by_the_button_title():
    choices = {"lost": "I lost it", "stolen": "It was stolen"}
    assert match_option("somebody stole it, it was stolen", choices) == "stolen"
    assert match_option("I lost it", choices) == "lost"
    assert match_option("no idea", choices) is None
    assert match_option("12", {"3": "3 months", "12": "12 months"}) == "12"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("for 2 weeks", date(2026, 12, 13)),
        ("until december 20", date(2026, 12, 20)),
        ("till the 3rd of january", date(2027, 1, 3)),
        ("next friday", date(2026, 12, 4)),
        ("tomorrow", date(2026, 11, 30)),
        ("2026-12-24", date(2026, 12, 24)),
    ],
)
def test_future_dates_are_read_ahead_of_today(text, expected):
    assert parse_future_date(text, TODAY, max_days=180) == expected


@pytest.mark.parametrize("text", ["yesterday", "2026-01-01", "for 2 years", "whenever"])
def test_a_past_too_distant_or_unclear_future_date_is_not_an_answer(text):
    assert parse_future_date(text, TODAY, max_days=180) is None


BILLS = [
    {"bill_id": "B1", "period": "2026-08", "due_date": "2026-09-20"},
    {"bill_id": "B2", "period": "2026-10", "due_date": "2026-11-20"},
]
BILL_LABELS = {"B1": "Bill for 2026-08", "B2": "Bill for 2026-10"}


def test_an_item_is_found_by_the_month_it_is_for():
    assert match_choice("the August one", [], BILLS, "bill_id", (), BILL_LABELS) == BILLS[0]
    assert match_choice("october's bill", [], BILLS, "bill_id", (), BILL_LABELS) == BILLS[1]


def test_a_month_no_item_is_for_picks_none_rather_than_another_month():
    assert match_choice("the June one", [], BILLS[1:], "bill_id", (), BILL_LABELS) is None
    assert match_choice("may I pay the bill", [], BILLS[1:], "bill_id", (), BILL_LABELS) == BILLS[1]


@pytest.mark.parametrize(
    ("text", "share"),
    [
        ("half of it", "half"),
        ("the minimum", "minimum"),
        ("all of it", "all"),
        ("pay it off", "all"),
        ("the full amount", "all"),
        ("300", None),
        ("at least 300", None),
        ("dunno", None),
    ],
)
def test_an_amount_named_by_its_part_of_a_figure_is_read_as_that_part(text, share):
    assert parse_share(text) == share


def test_a_half_is_rounded_to_the_cent():
    assert share_of(Decimal("100.05"), "half") == Decimal("50.03")
    assert share_of(Decimal("100.05"), "minimum") == Decimal("100.05")


ACCOUNTS = [
    {"account_number": "6222001870164701", "kind": "savings"},
    {"account_number": "6222001870160014", "kind": "current"},
]


def test_pressing_an_account_button_is_not_taken_for_a_typed_card_number():
    # The sandbox's account numbers pass the card-number check the channels apply.
    assert redact("6222001870164701").hid_payment_data
    payload = button_payload("inform", "account_ref", "6222001870164701")

    assert not redact(payload).hid_payment_data
    sent = json.loads(payload.removeprefix("/inform"))["account_ref"]
    labels = {item["account_number"]: item["kind"] for item in ACCOUNTS}
    chosen = match_choice("", [sent], ACCOUNTS, "account_number", ("account_number",), labels)
    assert chosen == ACCOUNTS[0]
    # Ids the channels leave alone go as they are.
    assert button_payload("inform", "card_last_four", "CD1") == '/inform{"card_last_four": "CD1"}'
