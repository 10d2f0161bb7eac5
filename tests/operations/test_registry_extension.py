"""A designer adds operations with YAML alone: a registry entry and its responses.

The test writes a new capabilities file beside the project's, and talks to both new
operations (a question and a confirmed change) through the generic actions and the real
sandbox; the importer turns them into intents, a form and rules.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.operation_forms import _generated_actions
from registry import catalogue as registry
from registry.rasa_domain import registry_domain, registry_rules
from tests.operations.conversation import Conversation

NEW_LINE = """
line: extras
title: Extras
summary: refunds at a glance, waking a card
intents:
  extras_refund_list: See my wallet refunds
  extras_wake_card: Wake up my new card
operations:
  extras_refund_list:
    needs: wallet
    call: GET /v1/customers/me/wallet/refunds
    list: refunds
    answer: utter_extras_refund_list
    empty: utter_extras_no_refunds
  extras_wake_card:
    needs: debit_card
    slots: [card]
    target:
      slot: card
      where:
        status: [inactive]
      none: utter_extras_no_sleeping_card
    confirm: utter_confirm_extras_wake_card
    call: POST /v1/customers/me/cards/{card.card_id}/activate
    answer: utter_extras_card_awake
"""
NEW_RESPONSES = {
    "utter_extras_refund_list": [{"text": "Your refunds:\n{items}"}],
    "utter_extras_refund_list_item": [{"text": "{amount} ({refund_id}): {status}"}],
    "utter_extras_no_refunds": [{"text": "You have no refunds."}],
    "utter_extras_no_sleeping_card": [{"text": "No card is waiting to be woken up."}],
    "utter_confirm_extras_wake_card": [{"text": "Wake up {card_card_number_masked}?"}],
    "utter_extras_card_awake": [{"text": "Card {card_number_masked} is {status} now."}],
}


@pytest.fixture
def extended_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> registry.Catalogue:
    directory = tmp_path / "capabilities"
    shutil.copytree(registry.CAPABILITIES_DIR, directory)
    (directory / "extras.yml").write_text(NEW_LINE)
    monkeypatch.setattr(registry, "CAPABILITIES_DIR", directory)
    registry.default_catalogue.cache_clear()
    yield registry.default_catalogue()
    registry.default_catalogue.cache_clear()


def extended_domain(catalogue: registry.Catalogue, domain_dict: dict[str, Any]) -> dict:
    base = copy.deepcopy(domain_dict)
    base["responses"].update(NEW_RESPONSES)
    return registry_domain(catalogue, base)


async def first_with(client, predicate) -> str:
    for number in range(1, 61):
        customer = f"C{number:05d}"
        if await predicate(customer):
            return customer
    raise AssertionError("no customer fits")


def test_the_importer_makes_intents_a_form_and_rules_of_the_new_operations(
    extended_registry, domain_dict
):
    domain = extended_domain(extended_registry, domain_dict)
    rules = yaml.safe_load(registry_rules(extended_registry))["rules"]

    assert {"extras_refund_list", "extras_wake_card"} <= set(domain["intents"])
    assert domain["forms"]["extras_wake_card_form"]["required_slots"] == ["card", "confirmed"]
    assert "validate_extras_wake_card_form" in domain["actions"]
    names = {rule["rule"] for rule in rules}
    assert {
        "answer extras_refund_list",
        "start extras_wake_card_form",
        "finish extras_wake_card_form",
    } <= names


async def test_a_new_question_operation_answers_with_the_customers_data(
    extended_registry, client, domain_dict
):
    async def has_refunds(customer: str) -> bool:
        body = await client.call(customer, "GET", "/v1/customers/me/wallet/refunds")
        return bool(body["refunds"])

    customer = await first_with(client, has_refunds)
    refunds = (await client.call(customer, "GET", "/v1/customers/me/wallet/refunds"))["refunds"]
    chat = Conversation(customer, client, extended_domain(extended_registry, domain_dict))

    replies = await chat.say("list my refunds", "extras_refund_list")

    assert replies[0].startswith("Your refunds:")
    assert f"({refunds[0]['refund_id']}): {refunds[0]['status']}" in replies[0]


async def test_a_new_confirmed_operation_changes_the_back_end_after_yes(
    extended_registry, client, domain_dict
):
    async def sleeping_card(customer: str) -> bool:
        cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
        return [card["status"] for card in cards].count("inactive") == 1

    customer = await first_with(client, sleeping_card)
    actions = {action().name(): action for action in _generated_actions(extended_registry)}
    chat = Conversation(
        customer, client, extended_domain(extended_registry, domain_dict), form_actions=actions
    )

    confirmation = await chat.say("wake my card up", "extras_wake_card")
    assert confirmation[0].startswith("Wake up •••• ")
    done = await chat.say("yes", "affirm")

    assert done[0].endswith("is active now.")
    cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
    assert "inactive" not in [card["status"] for card in cards]
