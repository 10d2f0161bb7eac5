"""The general layer: what the assistant says it can do."""

from __future__ import annotations

from actions.general import ActionExplainCapabilities, capabilities_message
from registry.catalogue import Catalogue, ProductLine, load_catalogue
from tests.unit.trackers import tracker_after

INSURANCE = ProductLine(
    "insurance",
    "Insurance",
    "your policies and claims",
    {"insurance_file_claim": "File an insurance claim"},
)
WALLET = ProductLine(
    "payments",
    "Payments",
    "wallet balance and failed payments",
    {"payments_check_balance": "Check my wallet balance"},
)


def test_help_lists_only_product_lines_the_assistant_was_trained_on():
    catalogue = Catalogue((INSURANCE, WALLET))

    message = capabilities_message(catalogue, ["greet", "payments_check_balance"])

    assert "Payments: wallet balance and failed payments" in message
    assert "Insurance" not in message


def test_help_without_product_lines_still_offers_a_person():
    message = capabilities_message(Catalogue((INSURANCE,)), ["greet", "help"])

    assert "person" in message


def test_every_general_intent_has_a_description_for_buttons(domain_dict):
    catalogue = load_catalogue()
    general = [line for line in catalogue.lines if line.name == "general"][0]

    for intent in general.intent_descriptions:
        assert intent in domain_dict["intents"]
    assert catalogue.describe("request_human") == "Talk to a person"


async def test_help_answers_from_the_real_domain(dispatcher, domain_dict):
    await ActionExplainCapabilities().run(dispatcher, tracker_after("help", "help"), domain_dict)

    expected = capabilities_message(load_catalogue(), domain_dict["intents"])
    assert dispatcher.messages[0]["text"] == expected
