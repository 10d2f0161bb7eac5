"""Back-end data reads well in answers: money with currency, dates, times on the customer's
clock, masked numbers."""

from __future__ import annotations

import pytest

from actions.rendering import (
    context_values,
    customer_zone,
    display_values,
    fill_body,
    fill_path,
    fill_text,
)


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
    assert values["created_at"] == "16 Nov 2026, 23:19 (Beijing time)"
    assert values["annual_rate"] == "18.25%"
    assert values["account_number_last4"] == "8380"
    assert values["locked"] == "no"


def test_a_back_end_time_is_shown_on_the_customers_clock_saying_which_clock():
    # The back end's times are UTC: the reset link of the issue expired at 04:55 UTC.
    link = {"expires_at": "2026-11-30T04:55:00"}
    profile = {"customer_id": "C00001", "time_zone": "Asia/Shanghai"}

    assert context_values({"profile": profile, "link": link})["link_expires_at"] == (
        "30 Nov 2026, 12:55 (Beijing time)"
    )


def test_a_time_that_falls_on_another_day_locally_shows_the_local_day():
    values = display_values({"booked_at": "2026-11-30T17:30:00Z"}, zone=customer_zone(None))

    assert values["booked_at"] == "1 Dec 2026, 01:30 (Beijing time)"


def test_a_customer_elsewhere_reads_their_own_clock_with_its_offset():
    london = customer_zone({"time_zone": "Europe/London"})

    assert display_values({"at": "2026-07-01T04:55:00"}, zone=london)["at"] == (
        "1 Jul 2026, 05:55 (UTC+01:00)"
    )
    assert display_values({"at": "2026-12-01T04:55:00+00:00"}, zone=london)["at"] == (
        "1 Dec 2026, 04:55 (UTC)"
    )


@pytest.mark.parametrize("profile", [None, {}, {"time_zone": "Mars/Olympus"}, {"time_zone": 8}])
def test_a_profile_without_a_usable_time_zone_reads_as_beijing_time(profile):
    assert customer_zone(profile).key == "Asia/Shanghai"


def test_a_calendar_date_stays_the_same_day():
    values = display_values({"due_date": "2026-12-19"}, zone=customer_zone(None))

    assert values["due_date"] == "19 Dec 2026"


@pytest.mark.parametrize(
    ("masked", "shown"),
    [
        ("**** **** **** 4464", "•••• 4464"),
        ("****8380", "••••8380"),
        ("+86 135****1234", "+86 135••••1234"),
        ("****-****-****-4464", "••••-4464"),
    ],
)
def test_masks_are_shown_with_bullets_that_no_chat_renders_as_formatting(masked, shown):
    assert display_values({"card_number_masked": masked})["card_number_masked"] == shown


def test_a_single_asterisk_is_text_not_a_mask():
    assert display_values({"merchant": "SQ *COFFEE"})["merchant"] == "SQ *COFFEE"


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
