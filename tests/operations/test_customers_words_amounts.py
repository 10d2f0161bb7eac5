"""Amounts, currencies and names in customers' own words (issue 17): the figure, currency and
person the customer gave are the ones confirmed and moved, or the customer is asked; a button
never changes them. Each message carries the entities the assistant's own spaCy pipeline
finds in it, so a test reads what the customer typed and what the NLU made of it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
import spacy
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from clients.backend import BackendClient
from common.customer_binding import bound_sender_id
from nlu.spacy_pipeline import build_pipeline
from registry.catalogue import default_catalogue
from registry.forms import form_actions
from tests.operations.conftest import SERVICE_SECRET
from tests.operations.conversation import ACTIONS, SETTINGS, Conversation
from tests.recording_desk import RecordingDesk

Wanted = Any


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return build_pipeline()


def understood(nlp: spacy.language.Language, text: str) -> dict[str, str]:
    """The entities the rule-based extractor finds in ``text``, as Rasa passes them on."""
    return {entity.label_: entity.text for entity in nlp(text).ents}


def pressed(button: dict[str, str]) -> dict[str, str]:
    """The entity a button's payload carries; a payload is never read by the NLU."""
    found = re.fullmatch(r'/\w+\{"(\w+)": "([^"]+)"\}', button["payload"])
    assert found, f"a button sends words, not an intent and entity: {button}"
    return {found.group(1): found.group(2)}


async def first_customer(client: BackendClient, wanted: Wanted) -> str:
    for number in range(1, 61):
        customer = f"C{number:05d}"
        profile = await client.call(customer, "GET", "/v1/customers/me")
        if not profile["account_locked"] and await wanted(client, customer, profile):
            return customer
    raise AssertionError("no customer in the sandbox fits the test")


async def own_accounts(client: BackendClient, customer: str) -> list[dict[str, Any]]:
    accounts = (await client.call(customer, "GET", "/v1/customers/me/accounts"))["accounts"]
    return [a for a in accounts if a["kind"] in ("savings", "current") and a["status"] == "active"]


async def fund_holder(client: BackendClient, customer: str, profile: dict[str, Any]) -> bool:
    if not {"fund", "bank_account"} <= set(profile["products"]):
        return False
    fund = await client.call(customer, "GET", "/v1/customers/me/fund")
    accounts = await own_accounts(client, customer)
    return Decimal(str(fund["balance"]["amount"])) > 1000 and any(
        Decimal(a["balance"]["amount"]) > 30000 for a in accounts
    )


async def repayer(client: BackendClient, customer: str, profile: dict[str, Any]) -> bool:
    if not {"credit_line", "bank_account"} <= set(profile["products"]):
        return False
    bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
    accounts = await own_accounts(client, customer)
    return bill.get("status") in ("open", "overdue") and any(
        a["balance"]["currency"] == "CNY" and Decimal(a["balance"]["amount"]) > 1000
        for a in accounts
    )


async def sender_with_one_recipient(
    client: BackendClient, customer: str, profile: dict[str, Any]
) -> bool:
    if "bank_account" not in profile["products"]:
        return False
    recipients = await client.call(customer, "GET", "/v1/customers/me/recipients")
    return len(recipients["recipients"]) == 1


async def sms_code(sandbox_url: str, customer: str) -> str:
    async with httpx.AsyncClient(
        base_url=sandbox_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        response = await http.get(f"/sandbox/devices/{customer}/messages")
        response.raise_for_status()
        return str(response.json()["messages"][0]["code"])


async def answer_until_confirmation(chat: Conversation, replies: list[str]) -> list[str]:
    """Presses the first button of each question the customer did not answer in their
    request (an account when they have several), until a question needs typing or the
    confirmation is shown."""
    for _ in range(6):
        if chat.slots.get("requested_slot") in (None, "confirmed") or not chat.last_buttons:
            return replies
        button = chat.last_buttons[0]
        replies = await chat.say(button["payload"], "inform", **pressed(button))
    return replies


# -- a button never changes the amount ---------------------------------------------------------
async def test_the_redemption_speed_button_keeps_the_amount_the_customer_asked_for(
    client, sandbox, domain_dict, nlp
):
    customer = await first_customer(client, fund_holder)
    chat = Conversation(customer, client, domain_dict)
    request = "I want to take 500 out of the money market fund"

    replies = await chat.say(request, "wealth_redeem", **understood(nlp, request))
    assert not any("How much" in reply for reply in replies), replies
    while chat.slots.get("requested_slot") == "account":
        button = chat.last_buttons[0]
        replies = await chat.say(button["payload"], "inform", **pressed(button))

    assert chat.slots.get("requested_slot") == "fund_redemption_speed"
    speeds = {button["title"]: button for button in chat.last_buttons}
    instant = speeds["Instant (today, up to 10,000 CNY a day)"]
    assert pressed(instant) == {"fund_redemption_speed": "instant"}
    confirmation = await chat.say(instant["payload"], "inform", **pressed(instant))

    assert "take 500.00 CNY out of the fund" in confirmation[-1], confirmation
    assert "Instant" in confirmation[-1]
    await chat.say("yes", "affirm")
    done = await chat.say(await sms_code(sandbox.base_url, customer), "inform")
    assert any("500.00 CNY" in reply for reply in done), done
    orders = (await client.call(customer, "GET", "/v1/customers/me/fund/orders"))["orders"]
    newest = max(orders, key=lambda order: order["created_at"])
    assert (newest["kind"], Decimal(newest["amount"]), newest["speed"]) == (
        "redemption",
        Decimal("500.00"),
        "instant",
    )


async def test_typing_a_speed_title_back_does_not_take_its_figure_as_the_amount(
    client, domain_dict, nlp
):
    customer = await first_customer(client, fund_holder)
    chat = Conversation(customer, client, domain_dict)
    request = "take 500 out of the fund"
    await chat.say(request, "wealth_redeem", **understood(nlp, request))
    await answer_until_confirmation_or(chat, "fund_redemption_speed")

    title = "Instant (today, up to 10,000 CNY a day)"
    assert understood(nlp, title).get("amount") == "10,000 CNY"
    confirmation = await chat.say(title, "inform", **understood(nlp, title))

    assert chat.slots.get("fund_amount") == "500.00 CNY"
    assert "take 500.00 CNY out of the fund" in confirmation[-1], confirmation


async def answer_until_confirmation_or(chat: Conversation, slot: str) -> None:
    """Presses first buttons until ``slot`` is asked for."""
    for _ in range(6):
        if chat.slots.get("requested_slot") == slot:
            return
        button = chat.last_buttons[0]
        await chat.say(button["payload"], "inform", **pressed(button))
    raise AssertionError(f"{slot} was never asked for")


async def test_every_option_question_offers_buttons_that_carry_an_intent_and_entity(
    client, domain_dict
):
    catalogue = default_catalogue()
    asked = 0
    for action in form_actions(catalogue):
        spec = catalogue.slots.get(action.slot or "")
        if spec is None or spec.kind != "option":
            continue
        dispatcher = CollectingDispatcher()
        tracker = Tracker(bound_sender_id("C00001"), {}, {}, [], False, None, {}, "action_listen")
        await ACTIONS[action.name](client, RecordingDesk(), SETTINGS).run(
            dispatcher, tracker, domain_dict
        )
        buttons = [button for message in dispatcher.messages for button in message["buttons"]]
        assert [pressed(button) for button in buttons] == [
            {spec.entity or spec.name: key} for key in spec.choices
        ], action.name
        asked += 1
    assert asked >= 5


# -- amounts said in the request are used --------------------------------------------------------
@pytest.mark.parametrize(
    ("request_text", "intent", "slot", "expected"),
    [
        (
            "I want to take 500 out of the money market fund",
            "wealth_redeem",
            "fund_amount",
            "500.00 CNY",
        ),
        ("put 2k in the fund", "wealth_deposit", "fund_amount", "2000.00 CNY"),
        ("invest 3 hundred yuan", "wealth_deposit", "fund_amount", "300.00 CNY"),
        ("put 2 wan into the fund", "wealth_deposit", "fund_amount", "20000.00 CNY"),
        ("put five hundred yuan into the fund", "wealth_deposit", "fund_amount", "500.00 CNY"),
    ],
)
async def test_an_amount_said_in_the_request_is_the_amount_confirmed(
    client, domain_dict, nlp, request_text, intent, slot, expected
):
    customer = await first_customer(client, fund_holder)
    chat = Conversation(customer, client, domain_dict)

    replies = await chat.say(request_text, intent, **understood(nlp, request_text))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get(slot) == expected
    figure = f"{Decimal(expected.split()[0]):,.2f} CNY"
    assert figure in replies[-1] or expected in replies[-1], replies


async def test_pay_back_300_is_the_repayment_confirmed(client, domain_dict, nlp):
    customer = await first_customer(client, repayer)
    chat = Conversation(customer, client, domain_dict)
    request = "I want to pay back 300 on my credit card bill"

    replies = await chat.say(request, "credit_repay", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get("amount") == "300.00 CNY"
    assert "repay 300.00 CNY" in replies[-1], replies


@pytest.mark.parametrize(
    ("answer", "figure", "share"),
    [
        ("the minimum", "minimum_due", 1),
        ("all of it", "remaining", 1),
        ("half of it", "remaining", 2),
    ],
)
async def test_a_repayment_named_by_its_part_of_the_bill_is_that_part(
    client, domain_dict, nlp, answer, figure, share
):
    customer = await first_customer(client, repayer)
    bill = await client.call(customer, "GET", "/v1/customers/me/credit-line/bills/current")
    expected = (Decimal(bill[figure]["amount"]) / share).quantize(Decimal("0.01"))
    chat = Conversation(customer, client, domain_dict)
    replies = await chat.say("I want to repay my credit bill", "credit_repay")
    replies = await answer_until_confirmation(chat, replies)
    assert chat.slots.get("requested_slot") == "amount"

    replies = await chat.say(answer, "inform", **understood(nlp, answer))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get("amount") == f"{expected} CNY"
    assert f"repay {expected:,.2f} CNY" in replies[-1], replies


# -- a change is not a total; a currency is never swapped ----------------------------------------
async def test_raising_the_limit_by_an_amount_is_asked_about_not_taken_as_the_new_limit(
    client, domain_dict, nlp
):
    async def credit_holder(client, customer, profile) -> bool:
        return "credit_line" in profile["products"]

    customer = await first_customer(client, credit_holder)
    chat = Conversation(customer, client, domain_dict)
    request = "increase my credit limit by 5k"
    assert understood(nlp, request) == {"amount": "by 5k"}

    replies = await chat.say(request, "credit_raise_limit", **understood(nlp, request))

    assert chat.slots.get("credit_new_limit") is None
    assert "utter_confirm_credit_raise_limit" not in chat.last_responses
    assert "new total limit" in replies[-1], replies


async def test_dollars_to_repay_from_a_yuan_account_are_asked_for_again_in_yuan(
    client, domain_dict, nlp
):
    customer = await first_customer(client, repayer)
    chat = Conversation(customer, client, domain_dict)
    request = "pay back 300 dollars of my credit bill"

    replies = await chat.say(request, "credit_repay", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert "utter_confirm_credit_repay" not in chat.last_responses
    assert "won't change the currency of 300.00 USD" in replies[0], replies
    assert chat.slots.get("requested_slot") == "amount" and chat.slots.get("amount") is None

    confirmation = await chat.say("300 yuan", "inform", **understood(nlp, "300 yuan"))
    assert "repay 300.00 CNY" in confirmation[-1], confirmation


async def test_dollars_sent_abroad_from_a_yuan_account_are_not_sent_as_yuan(
    client, domain_dict, nlp
):
    async def sender_abroad(client, customer, profile) -> bool:
        accounts = await own_accounts(client, customer)
        return any(
            a["balance"]["currency"] == "CNY" and Decimal(a["balance"]["amount"]) > 5000
            for a in accounts
        )

    customer = await first_customer(client, sender_abroad)
    chat = Conversation(customer, client, domain_dict)
    request = "send $500 to my son in the USA"
    assert understood(nlp, request)["amount"] == "$500"

    replies = await chat.say(request, "intl_send_abroad", **understood(nlp, request))
    for _ in range(8):
        asked = chat.slots.get("requested_slot")
        if asked in (None, "confirmed", "amount") and chat.slots.get("amount") is None:
            break
        if chat.last_buttons:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], "inform", **pressed(button))
        elif asked == "remittance_beneficiary_name":
            replies = await chat.say("David Chen", "inform")
        elif asked == "remittance_beneficiary_account":
            replies = await chat.say("GB29NWBK60161331926819", "inform")
        else:
            break

    assert "utter_confirm_intl_send_abroad" not in chat.last_responses
    assert any("won't change the currency of 500.00 USD" in reply for reply in replies), replies
    assert chat.slots.get("requested_slot") == "amount"


# -- a person is never swapped for another -------------------------------------------------------
async def transfer_to_someone_not_saved(
    client: BackendClient, domain_dict: dict[str, Any], request: str, name: str, **entities: str
) -> tuple[Conversation, list[str]]:
    """A customer with one saved recipient, not ``name``, asks for ``request`` (understood as
    ``entities``) and answers which account to pay from; the recipient must then be asked for."""
    customer = await first_customer(client, sender_with_one_recipient)
    saved = (await client.call(customer, "GET", "/v1/customers/me/recipients"))["recipients"]
    assert all(name not in recipient["name"] for recipient in saved)
    chat = Conversation(customer, client, domain_dict)
    replies = await chat.say(request, "bank_transfer", **entities)
    while chat.slots.get("requested_slot") == "account":
        button = chat.last_buttons[0]
        replies = await chat.say(button["payload"], "inform", **pressed(button))

    assert chat.slots.get("recipient") is None
    assert chat.slots.get("requested_slot") == "recipient"
    assert "utter_confirm_bank_transfer" not in chat.last_responses
    assert "send money to" in replies[-1], replies
    return chat, replies


async def test_a_recipient_named_in_chinese_who_is_not_saved_is_asked_about(
    client, domain_dict, nlp
):
    request = "send 200 yuan to 林"
    assert understood(nlp, request) == {"amount": "200 yuan", "recipient": "林"}
    _, replies = await transfer_to_someone_not_saved(
        client, domain_dict, request, "林", **understood(nlp, request)
    )
    assert "recipients saved in your account" in " ".join(replies), replies


@pytest.mark.parametrize(
    ("request_text", "amount"), [("send 200 yuan to Bob", "200 yuan"), ("pay Bob 300", "300")]
)
async def test_a_recipient_named_in_words_the_nlu_missed_is_not_taken_for_the_only_saved_one(
    client, domain_dict, request_text, amount
):
    # As when the learned extractor does not mark "Bob": only the amount is understood.
    await transfer_to_someone_not_saved(client, domain_dict, request_text, "Bob", amount=amount)


# -- counts, end dates and accounts said in the request are not asked again ----------------------
async def test_instalments_named_in_the_request_are_the_plan_offered(client, domain_dict, nlp):
    customer = await first_customer(client, repayer)
    chat = Conversation(customer, client, domain_dict)
    request = "split my credit bill into 6 instalments"

    replies = await chat.say(request, "credit_instalments", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get("instalment_months") == "6"
    assert "6 monthly payments" in replies[-1], replies


async def test_a_loan_term_named_in_the_request_is_not_asked_again(client, domain_dict, nlp):
    customer = await first_customer(client, repayer)
    chat = Conversation(customer, client, domain_dict)
    request = "I'd like to borrow 5000 for 12 months"

    replies = await chat.say(request, "credit_loan_apply", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert (chat.slots.get("loan_amount"), chat.slots.get("loan_term_months")) == (
        "5000.00 CNY",
        "12",
    )
    assert "borrow 5,000.00 CNY over 12 months" in replies[-1], replies


async def test_an_end_date_named_in_the_request_is_the_one_confirmed(client, domain_dict, nlp):
    async def card_holder(client, customer, profile) -> bool:
        cards = (await client.call(customer, "GET", "/v1/customers/me/cards"))["cards"]
        return any(card["status"] == "active" for card in cards)

    customer = await first_customer(client, card_holder)
    chat = Conversation(customer, client, domain_dict)
    request = "I'll use my card in Japan until 20 December"

    replies = await chat.say(request, "intl_card_abroad", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get("travel_until", "").endswith("-12-20")
    assert chat.slots.get("travel_region") == "JP"
    assert "utter_confirm_intl_card_abroad" in chat.last_responses, replies


async def test_the_account_named_in_the_request_is_the_one_paid_from(client, domain_dict, nlp):
    async def saver_with_two_accounts(client, customer, profile) -> bool:
        if not await repayer(client, customer, profile):
            return False
        kinds = [account["kind"] for account in await own_accounts(client, customer)]
        return "savings" in kinds and len(kinds) >= 2

    customer = await first_customer(client, saver_with_two_accounts)
    savings = next(a for a in await own_accounts(client, customer) if a["kind"] == "savings")
    chat = Conversation(customer, client, domain_dict)
    request = "pay back 300 of my credit bill from my savings"

    replies = await chat.say(request, "credit_repay", **understood(nlp, request))
    replies = await answer_until_confirmation(chat, replies)

    assert chat.slots.get("account") == savings["account_number"]
    assert "from your savings account" in replies[-1], replies
