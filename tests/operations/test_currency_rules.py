"""Money is asked for in the currency the product works in; another currency is not
silently converted or relabelled."""

from __future__ import annotations

from tests.operations.conversation import Conversation


async def fund_customer(client) -> str:
    for number in range(1, 61):
        customer = f"C{number:05d}"
        profile = await client.call(customer, "GET", "/v1/customers/me")
        if {"fund", "bank_account"} <= set(profile["products"]):
            return customer
    raise AssertionError("no fund holder in the sandbox")


async def test_an_amount_in_dollars_for_the_yuan_fund_is_asked_for_again(client, domain_dict):
    chat = Conversation(await fund_customer(client), client, domain_dict)
    await chat.say("take money out of the fund", "wealth_redeem")
    assert chat.slots.get("requested_slot") == "fund_amount"

    refused = await chat.say("100 dollars", "inform", amount="100 dollars")
    assert refused[0] == "Sorry, I can't use that as an answer."
    assert chat.slots.get("fund_amount") is None

    await chat.say("100 yuan", "inform", amount="100 yuan")
    assert chat.slots.get("fund_amount") == "100.00 CNY"


async def test_an_amount_without_a_currency_is_taken_in_yuan_for_the_fund(client, domain_dict):
    chat = Conversation(await fund_customer(client), client, domain_dict)
    await chat.say("put 300 in the fund", "wealth_deposit", amount="300")

    assert chat.slots.get("fund_amount") == "300.00 CNY"
