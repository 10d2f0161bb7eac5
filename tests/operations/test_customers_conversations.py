"""Conversations as real customers had them (issue 17): a question typed where a free-text
answer was expected, details given in the request itself, a transfer named by who, when and
how much, answers that are not in the expected form. Each runs the real action code against
the real sandbox and checks what the customer reads and what the back end holds."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from actions.operation_forms import person_name
from clients.backend import BackendClient
from tests.operations.conftest import SERVICE_SECRET
from tests.operations.conversation import Conversation

Wanted = Any


async def first_customer(client: BackendClient, wanted: Wanted) -> str:
    for number in range(1, 61):
        customer = f"C{number:05d}"
        profile = await client.call(customer, "GET", "/v1/customers/me")
        if not profile["account_locked"] and await wanted(customer, profile):
            return customer
    raise AssertionError("no customer in the sandbox fits the test")


async def anyone(customer: str, profile: dict[str, Any]) -> bool:
    return True


async def sms_code(sandbox_url: str, customer: str) -> str:
    """The newest security code the sandbox sent to the customer's phone."""
    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        response = await http.get(f"/sandbox/devices/{customer}/messages")
        response.raise_for_status()
        return str(response.json()["messages"][0]["code"])


# -- a question in a free-text answer ----------------------------------------------------------
async def test_a_question_asked_for_a_fraud_description_is_answered_not_reported(
    client, domain_dict
):
    customer = await first_customer(client, anyone)
    chat = Conversation(customer, client, domain_dict)
    await chat.say("I want to report fraud", "security_report_fraud")

    replies = await chat.say(
        "what is my credit score and how can I improve it", "score_improve", confidence=0.9
    )

    assert "utter_confirm_security_report_fraud" not in chat.last_responses
    assert chat.slots.get("fraud_description") is None
    assert replies[-2] == "Now, back to your request."
    assert "tell me briefly what happened" in replies[-1]


async def test_a_question_asked_for_the_claim_details_is_answered_and_the_details_asked_again(
    client, domain_dict
):
    customer = await with_active_policy(client)
    chat = Conversation(customer, client, domain_dict)
    await chat.say("I want to make an insurance claim", "insurance_file_claim")
    if chat.slots.get("requested_slot") == "policy":
        await chat.say(chat.last_buttons[0]["payload"], "inform")
    await answer_until(chat, "claim_description", {"incident_date": ("yesterday", "inform")})

    replies = await chat.say(
        "which documents do I need for a claim?", "insurance_claim_documents", 0.9
    )

    assert chat.slots.get("claim_description") is None
    assert "utter_confirm_insurance_file_claim" not in chat.last_responses
    assert replies[-2] == "Now, back to your request."
    assert chat.slots.get("requested_slot") == "claim_description"


# -- answers that are not answers ----------------------------------------------------------------
async def sender_abroad(client: BackendClient) -> str:
    async def fits(customer: str, profile: dict[str, Any]) -> bool:
        if "bank_account" not in profile["products"]:
            return False
        accounts = (await client.call(customer, "GET", "/v1/customers/me/accounts"))["accounts"]
        usable = [
            account
            for account in accounts
            if account["kind"] in ("savings", "current") and account["status"] == "active"
        ]
        return len(usable) == 1 and Decimal(usable[0]["balance"]["amount"]) > 2000

    return await first_customer(client, fits)


async def answer_until(chat: Conversation, slot: str, answers: dict[str, tuple[str, str]]) -> None:
    """Answers the form's questions (``slot: (text, intent)``) until it asks for ``slot``."""
    for _ in range(len(answers) + 1):
        requested = chat.slots.get("requested_slot")
        if requested == slot:
            return
        text, intent = answers[requested]
        await chat.say(text, intent)
    raise AssertionError(f"the form never asked for {slot}")


async def sending_abroad_until(
    client: BackendClient, domain_dict: dict[str, Any], slot: str
) -> tuple[str, Conversation]:
    """A customer sending 1000 yuan to the UK who has answered every question before ``slot``."""
    customer = await sender_abroad(client)
    chat = Conversation(customer, client, domain_dict)
    await chat.say("send 1000 yuan to my son in the UK", "intl_send_abroad", amount="1000")
    await answer_until(
        chat,
        slot,
        {
            "destination_currency": ("GBP", "inform"),
            "remittance_country": ("UK", "inform"),
            "remittance_beneficiary_name": ("David Chen", "inform"),
        },
    )
    return customer, chat


async def test_a_question_or_a_sentence_at_the_recipients_name_is_not_taken_as_the_name(
    client, sandbox, domain_dict
):
    _, chat = await sending_abroad_until(client, domain_dict, "remittance_beneficiary_name")

    asked = await chat.say("sorry, how do I spell his full name?", "inform", 0.4)
    assert "first and last name" in asked[0], asked
    assert chat.slots.get("remittance_beneficiary_name") is None
    assert not chat.slots.get("failed_answers")

    unsure = await chat.say("I don't know his name", "inform")
    assert "first and last name" in unsure[0], unsure
    assert chat.slots.get("remittance_beneficiary_name") is None

    await chat.say("his name is David Chen.", "inform")
    assert chat.slots.get("remittance_beneficiary_name") == "David Chen"


async def test_a_question_instead_of_an_account_number_is_answered_and_a_wrong_one_explained(
    client, sandbox, domain_dict
):
    customer, chat = await sending_abroad_until(
        client, domain_dict, "remittance_beneficiary_account"
    )

    asked = await chat.say("sorry, where do I find his account number?", "inform", 0.4)
    assert "ask them for it" in asked[0], asked
    assert "account number or IBAN?" in asked[-1]
    assert chat.slots.get("remittance_beneficiary_account") is None
    assert not chat.slots.get("failed_answers")

    wrong = await chat.say("it's 12", "inform")
    assert "8 to 34 letters and digits" in wrong[0]

    confirmation = await chat.say("GB29 NWBK 6016 1331 9268 19", "inform")
    assert "account GB29NWBK60161331926819" in confirmation[-1], confirmation
    await chat.say("yes", "affirm")
    done = await chat.say(await sms_code(sandbox.base_url, customer), "inform")

    assert "utter_operation_refused" not in chat.last_responses, done
    remittances = (await client.call(customer, "GET", "/v1/customers/me/remittances"))[
        "remittances"
    ]
    assert [r["beneficiary_name"] for r in remittances].count("David Chen") == 1


# -- repaying a bill, cancelling a policy ------------------------------------------------------
async def with_open_bill(client: BackendClient) -> str:
    async def fits(customer: str, profile: dict[str, Any]) -> bool:
        if not {"credit_line", "bank_account"} <= set(profile["products"]):
            return False
        bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
        return bool(bill) and bill["status"] == "open"

    return await first_customer(client, fits)


async def test_whats_my_bill_at_the_repayment_amount_is_answered_then_the_amount_asked(
    client, domain_dict
):
    customer = await with_open_bill(client)
    bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
    chat = Conversation(customer, client, domain_dict)
    asked = await chat.say("pay my credit bill", "credit_repay")
    assert 'Ask "what\'s my bill?"' in asked[-1]

    # Below the fallback threshold, the question is still the NLU's best answerable guess.
    replies = await chat.say(
        "what's my bill?", "nlu_fallback", 0.5, ranking={"credit_bill": 0.42, "credit_repay": 0.3}
    )

    assert f"{Decimal(bill['remaining']['amount']):,.2f}" in replies[0], replies
    assert replies[-2:] == [
        "Now, back to your request.",
        asked[-1],
    ]
    assert not chat.slots.get("failed_answers")


async def test_after_instalments_a_repayment_is_told_there_is_nothing_left_to_repay(
    client, domain_dict
):
    customer = await with_open_bill(client)
    chat = Conversation(customer, client, domain_dict)
    await chat.say("split my bill", "credit_instalments")
    await chat.say("6 months", "inform")
    split = await chat.say("yes", "affirm")
    assert split[0].startswith("Done: your bill is now split into 6 monthly payments")

    replies = await chat.say("now pay my credit bill", "credit_repay")

    assert replies == [
        "There's nothing to repay on your current credit bill: it is already paid, or on an "
        "instalment plan whose monthly payments come on your coming bills. Ask me "
        '"what\'s my bill?" for the details.'
    ]
    assert chat.form is None
    bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
    assert bill["status"] == "instalments"


async def test_a_repayment_confirmation_shows_what_is_left_after_an_earlier_repayment(
    client, sandbox, domain_dict
):
    customer = await with_open_bill(client)
    before = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
    chat = Conversation(customer, client, domain_dict)
    await chat.say("repay 100 of my bill", "credit_repay", amount="100")
    await answer_until(chat, "confirmed", {"account": ("1", "inform")})
    await chat.say("yes", "affirm")
    await chat.say(await sms_code(sandbox.base_url, customer), "inform")

    again = await chat.say("repay 50 more", "credit_repay", amount="50")
    if chat.slots.get("requested_slot") == "account":
        again = await chat.say("1", "inform")

    left = Decimal(before["remaining"]["amount"]) - 100
    assert f"{left:,.2f} CNY left to pay" in again[-1], again


async def with_active_policy(client: BackendClient) -> str:
    async def fits(customer: str, profile: dict[str, Any]) -> bool:
        policies = (await client.call(customer, "GET", "/v1/customers/me/policies"))["policies"]
        return "insurance" in profile["products"] and any(
            policy["status"] == "active" for policy in policies
        )

    return await first_customer(client, fits)


async def test_no_at_a_policy_cancellation_says_the_policy_was_not_cancelled(client, domain_dict):
    customer = await with_active_policy(client)
    chat = Conversation(customer, client, domain_dict)
    await chat.say("cancel my insurance policy", "insurance_cancel_policy")
    if chat.slots.get("requested_slot") == "policy":
        await chat.say(chat.last_buttons[0]["payload"], "inform")
    await answer_until(chat, "confirmed", {"policy_cancel_reason": ("too expensive", "inform")})
    policy_number = chat.slots["policy"]

    replies = await chat.say("No, cancel", "cancel")

    assert replies == [
        "OK, I've dropped the cancellation: your policy is NOT cancelled, and its cover "
        "carries on as before. Nothing was changed."
    ]
    policy = await client.call(customer, "GET", f"/v1/customers/me/policies/{policy_number}")
    assert policy["status"] == "active"


# -- what the customer already said is not asked again -------------------------------------------
async def one_active_card(client: BackendClient) -> str:
    async def fits(customer: str, profile: dict[str, Any]) -> bool:
        cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
        return len(cards) == 1 and cards[0]["status"] == "active"

    return await first_customer(client, fits)


async def test_a_nicked_purse_blocks_the_card_as_stolen_and_its_replacement_asks_nothing_again(
    client, sandbox, domain_dict
):
    customer = await one_active_card(client)
    chat = Conversation(customer, client, domain_dict)

    confirmation = await chat.say(
        "someone nicked my purse with my card in it", "bank_report_lost_card"
    )
    assert "block your card" in confirmation[0] and "(It was stolen)" in confirmation[0]
    await chat.say("yes", "affirm")
    blocked = await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert "is blocked" in blocked[0] and "replacement card" in blocked[1]

    replacement = await chat.say("Yes, send me a new card", "bank_replace_card")
    assert chat.last_responses == ["utter_confirm_bank_replace_card"], replacement
    assert "(It was stolen)" in replacement[0]
    await chat.say("yes", "affirm")
    ordered = await chat.say(await sms_code(sandbox.base_url, customer), "inform")

    assert ordered[0].startswith("Your new card"), ordered
    cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
    assert sorted(card["status"] for card in cards) == ["inactive", "replaced"]


async def test_pickpocketed_taken_and_lost_in_the_answer_are_understood(client, domain_dict):
    customer = await one_active_card(client)
    for answer, kind in [
        ("I got pickpocketed on the metro", "It was stolen"),
        ("someone has taken it", "It was stolen"),
        ("I think I misplaced it", "I lost it"),
    ]:
        chat = Conversation(customer, client, domain_dict)
        assert await chat.say("block my card", "bank_report_lost_card") == [
            "Was the card lost, or stolen?"
        ]
        confirmation = await chat.say(answer, "inform")
        assert f"({kind})" in confirmation[0], (answer, confirmation)


# -- the transfer the customer means -------------------------------------------------------------
def days_ago(transfer: dict[str, Any]) -> int:
    return (date.today() - datetime.fromisoformat(transfer["created_at"]).date()).days


async def transfers_of(client: BackendClient, customer: str) -> list[dict[str, Any]]:
    return list((await client.call(customer, "GET", "/v1/customers/me/transfers"))["transfers"])


async def with_transfers(client: BackendClient, fits: Wanted) -> tuple[str, list[dict[str, Any]]]:
    async def wanted(customer: str, profile: dict[str, Any]) -> bool:
        if "bank_account" not in profile["products"]:
            return False
        return await fits(await transfers_of(client, customer))

    customer = await first_customer(client, wanted)
    return customer, await transfers_of(client, customer)


async def test_a_transfer_named_by_a_date_none_fits_is_asked_about_not_the_latest_answered(
    client, domain_dict
):
    async def none_two_days_ago(transfers: list[dict[str, Any]]) -> bool:
        return len(transfers) >= 2 and all(abs(days_ago(t) - 2) > 1 for t in transfers)

    customer, transfers = await with_transfers(client, none_two_days_ago)
    chat = Conversation(customer, client, domain_dict)

    replies = await chat.say(
        "I sent money to my brother two days ago and he still hasn't got it",
        "bank_transfer_missing",
    )

    assert chat.last_responses == ["utter_which_one"], replies
    offered = {button["payload"] for button in chat.last_buttons}
    assert all(t["transfer_id"] in " ".join(offered) for t in transfers[:6])


async def test_a_transfer_named_by_its_date_or_its_amount_is_the_one_answered(client, domain_dict):
    async def an_older_one_stands_out(transfers: list[dict[str, Any]]) -> bool:
        if len(transfers) < 2:
            return False
        older = transfers[1]
        others = [t for t in transfers if t is not older]
        return days_ago(older) >= 3 and all(
            abs(days_ago(t) - days_ago(older)) > 1 and t["amount"] != older["amount"]
            for t in others
        )

    customer, transfers = await with_transfers(client, an_older_one_stands_out)
    meant = transfers[1]

    by_date = Conversation(customer, client, domain_dict)
    replies = await by_date.say(
        f"the money I sent {days_ago(meant)} days ago still hasn't arrived",
        "bank_transfer_missing",
    )
    assert meant["transfer_id"] in replies[0], replies

    by_amount = Conversation(customer, client, domain_dict)
    amount = meant["amount"]
    replies = await by_amount.say(
        f"where are the {amount} yuan I sent", "bank_transfer_missing", amount=amount
    )
    assert meant["transfer_id"] in replies[0], replies


# -- a card used without permission ------------------------------------------------------------
async def test_a_card_used_without_permission_is_frozen_with_the_fraud_report(client, domain_dict):
    customer = await one_active_card(client)
    card = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"][0]
    chat = Conversation(customer, client, domain_dict)

    asked = await chat.say("My card was used without my permission.", "security_report_fraud")
    assert "tell me briefly what happened" in asked[-1]
    confirmation = await chat.say("two payments at a shop in Shenzhen I never went to", "inform")
    assert "Your debit cards: Freeze them now." in confirmation[-1]
    replies = await chat.say("yes", "affirm")

    assert chat.last_responses[0] == "utter_security_fraud_reported_frozen"
    assert card["card_number_masked"][-4:] in replies[0]
    assert chat.paused
    frozen = await client.call(customer, "GET", f"/v1/customers/me/cards/{card['card_id']}")
    assert frozen["status"] == "frozen"


async def test_a_fraud_report_about_something_else_leaves_the_cards_working(client, domain_dict):
    customer = await one_active_card(client)
    chat = Conversation(customer, client, domain_dict)

    await chat.say("someone called pretending to be you", "security_report_fraud")
    await chat.say("a man asked for my SMS code and I gave it to him", "inform")
    await chat.say("yes", "affirm")

    assert chat.last_responses[0] == "utter_security_fraud_reported"
    cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
    assert cards[0]["status"] == "active"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("David Chen", "David Chen"),
        ("his name is David Chen.", "David Chen"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("陈大卫", "陈大卫"),
        ("María José Núñez", "María José Núñez"),
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("प्रिया शर्मा", "प्रिया शर्मा"),
        ("Robert'); DROP TABLE recipients;--", None),
        ("<script>alert(1)</script>", None),
        ("4111 1111 1111 1111", None),
        ("A" * 141, None),
        ("sorry, how do I spell it?", None),
        ("I don't know his name", None),
        ("David Chen 6221", None),
        ("my son", None),
    ],
)
def test_a_name_is_read_as_written_and_words_about_it_are_not(typed: str, name: str | None):
    assert person_name(typed) == name
