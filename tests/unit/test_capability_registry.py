"""The capability registry refuses files that could not work, saying where and why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from common.environment import PROJECT_ROOT
from registry.catalogue import Call, Catalogue, Operation, RegistryError, load_catalogue


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


def account_lists(catalogue: Catalogue) -> set[Call | None]:
    """The calls that list the customer's accounts: those of the slots some operation pays from
    (``pays_from`` names an account by definition)."""
    return {
        catalogue.slots[operation.pays_from].options_call
        for operation in catalogue.operations.values()
        if operation.pays_from
    }


def moves_money(operation: Operation, catalogue: Catalogue) -> bool:
    """A call that changes state with one of the customer's accounts at one end: it pays from
    one, or its form asks which account the money leaves or reaches (a loan paid out, a fund
    redeemed). A money slot alone is not enough: a credit limit asked for is a figure, and no
    money leaves or arrives."""
    if operation.call.method == "GET":
        return False
    accounts = account_lists(catalogue)
    return bool(operation.pays_from) or any(
        catalogue.slots[name].options_call in accounts
        for name in operation.slots
        if catalogue.slots[name].kind == "choice"
    )


def quote_calls(catalogue: Catalogue) -> set[Call]:
    return {op.quote for op in catalogue.operations.values() if op.quote is not None}


def unsafe_operations(catalogue: Catalogue) -> dict[str, str]:
    """Operations that could change the customer's things without the safeguards they need.

    Money moves only after an explicit yes and a step-up code for moving money. Every other
    change of state (a card frozen, a claim filed, a limit asked for) needs the explicit yes;
    its step-up is the line's choice (card controls and policy changes have one, a filed claim
    has none), so it is not required here. A question may call with POST only to ask for an
    offer some form shows before its yes (a remittance's fees), which changes nothing.
    """
    unsafe: dict[str, str] = {}
    for name, operation in catalogue.operations.items():
        if operation.call.method == "GET":
            continue
        if not operation.is_form:
            if operation.call not in quote_calls(catalogue):
                unsafe[name] = "a question that changes state"
        elif moves_money(operation, catalogue) and not (
            operation.confirm and operation.verification == "move_money"
        ):
            unsafe[name] = "moves money without a yes and a move_money code"
        elif not operation.confirm:
            unsafe[name] = "changes state without a yes"
    return unsafe


def test_money_moves_only_after_an_explicit_yes_and_step_up_verification():
    catalogue = load_catalogue()
    money_moving = [op for op in catalogue.operations.values() if moves_money(op, catalogue)]

    assert money_moving, "the rule found no money-moving operation: it has stopped working"
    assert unsafe_operations(catalogue) == {}


def test_a_new_money_operation_without_its_safeguards_is_caught(tmp_path):
    copy = tmp_path / "capabilities"
    shutil.copytree(PROJECT_ROOT / "capabilities", copy)
    bank = copy / "bank.yml"
    # The designer forgets the step-up of a transfer, and adds a bill payment from an account
    # with no confirmation at all.
    text = bank.read_text().replace("    verification: move_money\n", "", 1)
    # First under operations: (the line's proactive scenarios come after its operations).
    text = text.replace(
        "\noperations:\n",
        "\noperations:\n"
        "  bank_pay_bill:\n"
        "    needs: bank_account\n"
        "    slots: [account, amount]\n"
        "    pays_from: account\n"
        "    call: POST /v1/customers/me/bills\n"
        "    answer: utter_bank_transfer_sent\n",
        1,
    )
    bank.write_text(text)

    assert unsafe_operations(load_catalogue(copy)) == {
        "bank_transfer": "moves money without a yes and a move_money code",
        "bank_pay_bill": "moves money without a yes and a move_money code",
    }
