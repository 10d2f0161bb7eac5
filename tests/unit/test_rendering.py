"""Back-end data reads well in answers: money with currency, dates, masked numbers."""

from __future__ import annotations

import pytest

from actions.rendering import display_values, fill_body, fill_path, fill_text


def test_money_dates_rates_and_long_numbers_are_shown_for_people():
    values = display_values(
        {
            "balance": {"amount": "17795.9", "currency": "CNY"},
            "due_date": "2026-12-19",
            "created_at": "2026-11-16T15:19:12",
            "annual_rate": "0.1825",
            "account_number": "6222000010008380",
            "locked": False,
        }
    )
    assert values["balance"] == "17,795.90 CNY"
    assert values["due_date"] == "19 Dec 2026"
    assert values["created_at"] == "16 Nov 2026, 15:19"
    assert values["annual_rate"] == "18.25%"
    assert values["account_number_last4"] == "8380"
    assert values["locked"] == "no"


def test_an_item_with_a_flat_amount_and_currency_shows_the_amount_as_money():
    values = display_values(
        {"amount": "48.7", "currency": "CNY", "merchant": "Watsons"}, "transaction"
    )
    assert values["transaction_amount"] == "48.70 CNY"
    assert values["transaction"] == "48.70 CNY"


def test_unknown_placeholders_stay_visible_instead_of_failing():
    assert fill_text("{known} and {unknown}", {"known": "yes"}) == "yes and {unknown}"


def test_path_values_are_url_quoted_so_they_cannot_change_the_route():
    path = fill_path(
        "/v1/customers/me/cards/{card.card_id}/freeze", {"card": {"card_id": "../../other"}}
    )
    assert path == "/v1/customers/me/cards/..%2F..%2Fother/freeze"


def test_a_body_keeps_the_type_of_a_value_that_is_the_whole_string():
    body = fill_body({"months": "{months}", "memo": "for {name}"}, {"months": 6, "name": "Li"})
    assert body == {"months": 6, "memo": "for Li"}


def test_a_body_placeholder_without_a_value_is_an_error_not_a_guess():
    with pytest.raises(KeyError):
        fill_body({"amount": "{amount.amount}"}, {})
