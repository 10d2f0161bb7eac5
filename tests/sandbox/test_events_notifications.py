"""Whether a customer may be messaged first, and when not: seeded, shown in the profile, changed
by the customer (a bank lets them withdraw consent), refused when malformed."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

from services.sandbox.seed import generate
from tests.sandbox.conftest import RunningSandbox

ME = "/v1/customers/me"


def notifications(sandbox: RunningSandbox, customer_id: str) -> dict[str, Any]:
    with sandbox.client(customer_id) as http:
        return http.get(ME).json()["notifications"]


def test_the_demo_customers_consent_with_a_short_night(sandbox: RunningSandbox) -> None:
    for number in range(1, 11):
        assert notifications(sandbox, f"C{number:05d}") == {
            "consent": True,
            "quiet_hours": {"start": "23:00", "end": "07:00"},
        }


def test_most_customers_consent_and_most_of_them_keep_the_night_quiet() -> None:
    customers = generate(1000, seed=42, reference_date=date(2025, 3, 14))["customers"]
    assert customers == generate(1000, seed=42, reference_date=date(2025, 3, 14))["customers"]
    consenting = [c for c in customers if c["notify_consent"]]
    assert 0.80 < len(consenting) / len(customers) < 0.90
    windows = Counter((c["quiet_hours_start"], c["quiet_hours_end"]) for c in consenting)
    assert windows[("22:00", "08:00")] > len(consenting) / 2
    assert windows[(None, None)] > 0.05 * len(consenting)
    assert len(windows) >= 4  # a few customers keep other hours
    for c in customers:
        assert (c["quiet_hours_start"] is None) == (c["quiet_hours_end"] is None)


def test_a_customer_withdraws_consent_and_changes_their_quiet_hours(
    sandbox: RunningSandbox,
) -> None:
    customer = sandbox.customers()[-1]
    path = f"{ME}/notifications"
    with sandbox.client(customer) as http:
        withdrawn = http.put(path, json={"consent": False, "quiet_hours": None})
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json() == {"consent": False, "quiet_hours": None}
        assert http.get(ME).json()["notifications"] == withdrawn.json()
        night = {"start": "21:30", "end": "06:45"}
        given = http.put(path, json={"consent": True, "quiet_hours": night})
        assert given.status_code == 200, given.text
    assert notifications(sandbox, customer) == {"consent": True, "quiet_hours": night}
    stored = sandbox.rows(
        "SELECT notify_consent, quiet_hours_start, quiet_hours_end FROM customers WHERE id = :c",
        c=customer,
    )[0]
    assert (bool(stored[0]), stored[1], stored[2]) == (True, "21:30", "06:45")


@pytest.mark.parametrize(
    "body",
    [
        {"consent": True, "quiet_hours": {"start": "7:00", "end": "22:00"}},
        {"consent": True, "quiet_hours": {"start": "24:00", "end": "08:00"}},
        {"consent": True, "quiet_hours": {"start": "22:00", "end": "12:60"}},
        {"consent": True, "quiet_hours": {"start": "22:00", "end": "22:00"}},
        {"consent": True, "quiet_hours": {"start": "22:00"}},
        {"consent": "yes", "quiet_hours": None},
        {"consent": True},
        {"quiet_hours": None},
    ],
)
def test_malformed_preferences_are_refused_and_change_nothing(
    sandbox: RunningSandbox, body: dict[str, Any]
) -> None:
    customer = sandbox.customers()[-2]
    before = notifications(sandbox, customer)
    with sandbox.client(customer) as http:
        answer = http.put(f"{ME}/notifications", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert notifications(sandbox, customer) == before


def test_another_customers_preferences_are_left_alone(sandbox: RunningSandbox) -> None:
    changed, other = sandbox.customers()[-3], "C00001"
    before = notifications(sandbox, other)
    assert before["consent"] is True
    with sandbox.client(changed) as http:
        answer = http.put(f"{ME}/notifications", json={"consent": False, "quiet_hours": None})
    assert answer.status_code == 200
    assert notifications(sandbox, other) == before
