"""The form actions made with type() can be found: one listing names each with its operation."""

from __future__ import annotations

from actions.operation_forms import GENERATED_ACTIONS
from registry.catalogue import default_catalogue
from registry.check import ACTIONS_LISTING, main
from registry.forms import form_actions, listing


def test_the_committed_listing_names_every_generated_action():
    assert ACTIONS_LISTING.read_text() == listing(default_catalogue()), (
        "run .venv/bin/python -m registry.check --write-actions"
    )


def test_the_action_server_registers_exactly_the_listed_actions():
    listed = form_actions(default_catalogue())

    assert [(cls.__name__, cls().name()) for cls in GENERATED_ACTIONS] == [
        (action.class_name, action.name) for action in listed
    ]


def test_the_domain_declares_every_generated_action(domain_dict):
    assert {action.name for action in form_actions(default_catalogue())} <= set(
        domain_dict["actions"]
    )


def test_the_command_prints_each_action_with_its_operation(capsys):
    assert main(["--actions"]) == 0

    printed = capsys.readouterr().out.splitlines()
    assert any(
        row.split()[:2] == ["validate_bank_freeze_card_form", "bank_freeze_card"] for row in printed
    )
    assert any(
        row.split()[:2] == ["action_ask_bank_transfer_form_amount", "bank_transfer"]
        for row in printed
    )
