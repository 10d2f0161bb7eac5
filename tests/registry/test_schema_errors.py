"""A designer's mistake in capabilities/*.yml is refused at load, saying where and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.catalogue import RegistryError, load_catalogue
from tests.registry.conftest import edit, line_of


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RegistryError) as refused:
        load_catalogue(directory)
    return [str(problem) for problem in refused.value.problems]


def test_a_misspelt_key_is_named_with_its_line_and_the_key_meant(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    list: transfers\n", "    lists: transfers\n")

    [problem] = problems_of(project_copy / "capabilities")

    assert problem == (
        f"{bank}:{line_of(bank, 'lists: transfers')}: "
        "operations.bank_transfer_history.lists: unknown key 'lists'. "
        "Did you mean 'list'?"
    )


def test_a_misspelt_slot_is_named_with_its_line_and_the_slot_meant(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(
        bank,
        "    slots: [account, recipient, amount]\n",
        "    slots: [account, recipeint, amount]\n",
    )

    [problem] = problems_of(project_copy / "capabilities")

    assert f"bank.yml:{line_of(bank, 'recipeint')}: operations.bank_transfer.slots[1]" in problem
    assert "unknown slot 'recipeint'. Did you mean 'recipient'?" in problem


def test_a_wrong_value_is_named_with_the_values_allowed(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    verification: move_money\n", "    verification: move_mony\n")

    [problem] = problems_of(project_copy / "capabilities")

    line = line_of(bank, "move_mony")
    assert f"bank.yml:{line}: operations.bank_transfer.verification" in problem
    assert "must be one of move_money, card_control" in problem
    assert "Did you mean 'move_money'?" in problem


def test_a_call_placeholder_that_names_no_slot_is_refused_with_the_slot_meant(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "{card.card_id}/declines", "{crad.card_id}/declines")

    [problem] = problems_of(project_copy / "capabilities")

    line = line_of(bank, "crad.card_id")
    assert f"bank.yml:{line}: operations.bank_card_declined.call" in problem
    assert "placeholder {crad.card_id}" in problem and "Did you mean 'card'?" in problem


def test_a_missing_key_says_what_to_add(tmp_path):
    (tmp_path / "line.yml").write_text("line: x\noperations:\n  x_do:\n    answer: utter_x\n")

    [problem] = problems_of(tmp_path)

    assert problem.startswith(f"{tmp_path}/line.yml:3: operations.x_do: needs 'call'.")
    assert "Add call: the back-end call, like 'GET /v1/" in problem


def test_every_mistake_of_a_file_is_reported_at_once(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "    list: transfers\n", "    lists: transfers\n")
    edit(bank, "kind: option\n    choices:\n      lost:", "kind: opton\n    choices:\n      lost:")

    problems = problems_of(project_copy / "capabilities")

    assert len(problems) == 2
    assert "Did you mean 'option'?" in problems[0] and "Did you mean 'list'?" in problems[1]


def test_broken_yaml_names_the_line(tmp_path):
    (tmp_path / "line.yml").write_text("line: x\ntitle: X\n  summary: indented\n")

    [problem] = problems_of(tmp_path)

    assert problem.startswith(f"{tmp_path}/line.yml:3: is not valid YAML")


def test_a_follows_naming_a_slot_the_earlier_request_lacks_is_named_with_its_line(project_copy):
    bank = project_copy / "capabilities" / "bank.yml"
    edit(bank, "replacement_reason: loss_kind\n", "replacement_reason: loss_kinds\n")

    [problem] = problems_of(project_copy / "capabilities")

    assert f"bank.yml:{line_of(bank, 'replacement_reason: loss_kinds')}" in problem
    assert "'loss_kinds' is not a slot of bank_report_lost_card. Did you mean 'loss_kind'?" in (
        problem
    )
