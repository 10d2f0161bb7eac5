"""A customer who names another customer's payment, card or policy never sees or touches it:
the reference is looked up among their own things only."""

from __future__ import annotations

from tests.operations.conversation import Conversation


async def test_another_customers_payment_reference_shows_nothing_of_theirs(client, domain_dict):
    theirs = (
        await client.call(
            "C00002", "GET", "/v1/customers/me/wallet/transactions", params={"page_size": 1}
        )
    )["transactions"][0]
    chat = Conversation("C00001", client, domain_dict)

    replies = await chat.say(
        f"details of {theirs['transaction_id']}",
        "payments_transaction_details",
        transaction_ref=theirs["transaction_id"],
    )

    assert theirs["transaction_id"] not in " ".join(replies)
    assert chat.last_responses[0] == "utter_which_one"
    own = {b["payload"] for b in chat.last_buttons}
    assert all(theirs["transaction_id"] not in payload for payload in own)


async def test_another_customers_card_cannot_be_frozen(client, domain_dict):
    async def two_active_cards(customer: str) -> bool:
        cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
        return [card["status"] for card in cards].count("active") >= 2

    customer = [c for c in [f"C{n:05d}" for n in range(1, 61)] if await two_active_cards(c)][0]
    other = "C00002" if customer != "C00002" else "C00003"
    theirs = (await client.call(other, "GET", "/v1/customers/me/cards"))["cards"][0]
    chat = Conversation(customer, client, domain_dict)
    await chat.say("freeze card", "bank_freeze_card")
    assert chat.slots.get("requested_slot") == "card"

    replies = await chat.say(theirs["card_id"], "inform", card_last_four=theirs["card_id"])

    assert replies[0] == "Sorry, I can't use that as an answer."
    assert chat.slots.get("card") is None
    after = await client.call(other, "GET", f"/v1/customers/me/cards/{theirs['card_id']}")
    assert after["status"] == theirs["status"]
