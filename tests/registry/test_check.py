"""`python -m registry.check`: the project's registry passes, and each kind of broken reference
a designer can make is reported with its file, line and a fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.environment import PROJECT_ROOT
from registry.check import check
from tests.registry.conftest import edit, line_of


def problems_in(root: Path) -> list[str]:
    return [str(problem) for problem in check(root, root / "capabilities")]


def test_the_projects_registry_passes_the_check():
    assert check() == []


def test_the_command_exits_non_zero_with_the_problems_of_the_registry_it_is_pointed_at(
    project_copy,
):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    empty: utter_bank_no_declines\n", "    empty: utter_bank_no_decline\n")

    run = subprocess.run(
        [sys.executable, "-m", "registry.check", "--root", str(project_copy)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CAPABILITIES_DIR": str(project_copy / "capabilities")},
    )

    assert run.returncode == 1
    assert f"{bank}:{line_of(bank, 'utter_bank_no_decline')}: " in run.stdout
    assert "Did you mean 'utter_bank_no_declines'?" in run.stdout


def test_a_response_named_in_empty_that_does_not_exist_is_reported(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    empty: utter_bank_no_recipients\n", "    empty: utter_bank_no_recipient\n")

    [problem] = problems_in(project_copy)

    assert problem == (
        f"{bank}:{line_of(bank, 'utter_bank_no_recipient')}: "
        "operations.bank_recipients.empty: response 'utter_bank_no_recipient' "
        "is not in domain.yml or domain/*.yml. "
        "Did you mean 'utter_bank_no_recipients'?"
    )


def test_a_misspelt_placeholder_in_an_answer_is_reported_with_the_value_meant(project_copy):
    domain = project_copy / "domain" / "bank.yml"
    edit(domain, '"{occurred_at} at {merchant}', '"{occured_at} at {merchant}')

    [problem] = problems_in(project_copy)

    assert problem.startswith(f"{domain}:")
    assert "placeholder {occured_at}" in problem and "Did you mean 'occurred_at'?" in problem


def test_a_list_without_its_item_response_is_reported(project_copy):
    domain = project_copy / "domain" / "bank.yml"
    edit(domain, "  utter_bank_transfer_history_item:", "  utter_bank_transfer_history_row:")

    [problem] = problems_in(project_copy)

    assert (
        "operations.bank_transfer_history.list: response 'utter_bank_transfer_history_item'"
        in problem
    )


def test_a_call_placeholder_that_names_nothing_is_reported(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, 'recipient_name: "{recipient.name}"', 'recipient_name: "{payee.name}"')

    [problem] = problems_in(project_copy)

    assert (
        f"{bank}:{line_of(bank, 'payee.name')}: operations.bank_transfer.body.recipient_name"
        in problem
    )
    assert "placeholder {payee.name}" in problem


def test_missing_handoff_not_held_digression_and_question_responses_are_reported(project_copy):
    capabilities = project_copy / "capabilities"
    edit(
        capabilities / "security.yml",
        "  after: [utter_security_fraud_reported,",
        "  after: [utter_security_fraud_reportd,",
    )
    edit(
        capabilities / "bank.yml", "not_held: utter_bank_not_held", "not_held: utter_bank_not_hold"
    )
    edit(capabilities / "general.yml", "  help: utter_form_help", "  help: utter_form_hlp")
    edit(project_copy / "domain" / "bank.yml", "  utter_ask_amount:", "  utter_ask_sum:")

    problems = "\n".join(problems_in(project_copy))

    assert "handoff.after[0]: response 'utter_security_fraud_reportd'" in problems
    assert "not_held: response 'utter_bank_not_hold'" in problems
    assert "digression_replies.help: response 'utter_form_hlp'" in problems
    assert "operations.bank_transfer.slots[2]: the form has no question for 'amount'" in problems


def test_an_intent_with_too_few_examples_is_reported(project_copy):
    nlu = project_copy / "data" / "nlu" / "bank.yml"
    text = nlu.read_text()
    start = text.index("- intent: bank_recipients")
    end = text.index("- intent:", start + 1)
    nlu.write_text(
        text[:start] + "- intent: bank_recipients\n  examples: |\n"
        "    - who are my payees\n" + text[end:]
    )

    [problem] = problems_in(project_copy)

    assert "intent 'bank_recipients' has 1 examples in data/nlu" in problem
    assert "Add 29 or more to data/nlu/bank.yml." in problem


def test_a_broken_schema_stops_the_check_with_the_loaders_problems(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    list: transfers\n", "    lists: transfers\n")

    [problem] = problems_in(project_copy)

    assert "unknown key 'lists'. Did you mean 'list'?" in problem


def test_one_operation_can_be_checked_alone(project_copy):
    edit(
        project_copy / "capabilities" / "bank.yml",
        "    empty: utter_bank_no_recipients\n",
        "    empty: utter_bank_no_recipient\n",
    )

    assert check(project_copy, project_copy / "capabilities", operation="bank_balance") == []
    assert len(check(project_copy, project_copy / "capabilities", operation="bank_recipients")) == 1
