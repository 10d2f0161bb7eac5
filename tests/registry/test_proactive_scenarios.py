"""A designer adds a proactive scenario in YAML beside the line's capabilities, and a mistake in
one is refused at load, saying where and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.catalogue import RegistryError, load_catalogue
from tests.registry.conftest import edit

FAILED_PAYMENT = """  payment_failed:
    question: payments_failed
    entity: transaction_ref
    details: GET /v1/customers/me/wallet/transactions/{reference}
"""


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as refused:
        load_catalogue(directory)
    return [str(problem) for problem in refused.value.problems]


def test_a_new_scenario_in_yaml_is_read_with_no_python(project_copy):
    payments = project_copy / "capabilities" / "payments.yml"
    payments.write_text(
        payments.read_text()
        + """  payment_reversed:
    question: payments_transaction_details
    entity: transaction_ref
    details: GET /v1/customers/me/wallet/transactions/{reference}
    offer: "Your {amount} payment to {merchant} was reversed {when}: see it?"
    notice: "Your {amount} payment to {merchant} was reversed."
"""
    )

    scenario = load_catalogue(project_copy / "capabilities").scenarios["payment_reversed"]

    assert (scenario.line, scenario.question, scenario.entity) == (
        "payments",
        "payments_transaction_details",
        "transaction_ref",
    )
    assert scenario.notice == "Your {amount} payment to {merchant} was reversed."


def test_the_project_s_scenarios_lead_to_operations_and_name_their_items():
    catalogue = load_catalogue()

    assert catalogue.scenarios["payment_failed"].question == "payments_failed"
    notices = sorted(kind for kind, s in catalogue.scenarios.items() if s.notice)
    assert notices == [
        "bill_due_tomorrow",
        "card_declined",
        "payment_failed",
        "refund_arrived",
        "suspicious_payment",
    ]


def test_a_scenario_leading_to_an_unknown_operation_is_refused(project_copy):
    payments = project_copy / "capabilities" / "payments.yml"
    edit(payments, FAILED_PAYMENT, FAILED_PAYMENT.replace("payments_failed", "payments_faild"))

    [problem] = problems_of(project_copy / "capabilities")

    assert "proactive.payment_failed.question: unknown operation 'payments_faild'" in problem
    assert "Did you mean 'payments_failed'?" in problem


def test_an_entity_the_operation_does_not_take_is_refused_with_the_ones_it_does(project_copy):
    payments = project_copy / "capabilities" / "payments.yml"
    edit(payments, FAILED_PAYMENT, FAILED_PAYMENT.replace("transaction_ref", "card_last_four"))

    [problem] = problems_of(project_copy / "capabilities")

    assert "payments_failed does not take the entity 'card_last_four'" in problem
    assert "Use one of: transaction_ref." in problem


def test_details_that_would_change_something_or_name_unknown_values_are_refused(project_copy):
    payments = project_copy / "capabilities" / "payments.yml"
    edit(
        payments,
        FAILED_PAYMENT,
        FAILED_PAYMENT.replace(
            "GET /v1/customers/me/wallet/transactions/{reference}",
            "POST /v1/customers/me/wallet/transactions/{transaction}",
        ),
    )

    problems = problems_of(project_copy / "capabilities")

    assert any("details: must read, not change anything" in p for p in problems)
    assert any("{transaction} is not known when the event happens" in p for p in problems)


def test_wording_with_values_but_no_details_to_fill_them_is_refused(project_copy):
    security = project_copy / "capabilities" / "security.yml"
    edit(
        security,
        'offer: "Your account was locked {when}: see why and how to unlock it?"',
        'offer: "Your account was locked {when} for {reason}"',
    )

    [problem] = problems_of(project_copy / "capabilities")

    assert "proactive.account_locked.offer: {reason} has nothing to come from" in problem


def test_one_event_kind_has_one_scenario(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    bank.write_text(
        bank.read_text()
        + """  payment_failed:
    question: bank_card_declined
    offer: "A payment failed {when}"
"""
    )

    [problem] = problems_of(project_copy / "capabilities")

    assert "proactive.payment_failed: already has a scenario" in problem
