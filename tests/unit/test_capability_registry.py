"""The capability registry refuses files that could not work, saying where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.catalogue import RegistryError, load_catalogue


def registry_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "line.yml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("operations:\n  x:\n    answer: utter_x\n", "x: needs 'call'"),
        (
            "operations:\n  x:\n    call: FETCH /v1\n    answer: utter_x\n",
            "call that reads like 'GET /v1/",
        ),
        (
            "operations:\n  x:\n    call: GET /v1/x\n    answer: utter_x\n    slots: [nowhere]\n",
            "unknown slot 'nowhere'",
        ),
        (
            "operations:\n  x:\n    call: POST /v1/x\n    answer: utter_x\n"
            "    verification: move_money\n",
            "needs 'confirm'",
        ),
        (
            "operations:\n  x:\n    call: POST /v1/x\n    answer: utter_x\n    confirm: utter_c\n"
            "    verification: telepathy\n",
            "verification: must be one of",
        ),
        ("slots:\n  s:\n    kind: choice\n", "needs 'options'"),
        ("slots:\n  s:\n    kind: colour\n", "kind: must be one of"),
        (
            "disambiguation:\n  vague: [missing_operation]\n",
            "unknown operation 'missing_operation'",
        ),
    ],
)
def test_a_broken_registry_entry_is_refused_with_the_reason(tmp_path, text, complaint):
    with pytest.raises(RegistryError, match=complaint):
        load_catalogue(registry_with(tmp_path, text))


MONEY_MOVING = [
    "bank_transfer",
    "credit_repay",
    "credit_loan_apply",
    "credit_repay_early",
    "wealth_deposit",
    "wealth_redeem",
    "intl_send_abroad",
]


def test_the_projects_registry_has_every_line_and_60_product_operations():
    catalogue = load_catalogue()
    product_operations = [op for op in catalogue.operations.values() if op.line != "general"]
    assert len(product_operations) >= 60
    assert {op.line for op in product_operations} == {
        "payments",
        "bank",
        "credit",
        "insurance",
        "wealth",
        "score",
        "international",
        "security",
    }


@pytest.mark.parametrize("name", MONEY_MOVING)
def test_money_moves_only_after_an_explicit_yes_and_step_up_verification(name):
    operation = load_catalogue().operations[name]
    assert operation.call.method == "POST"
    assert operation.confirm and operation.verification == "move_money"
