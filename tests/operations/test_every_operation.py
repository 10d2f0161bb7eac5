"""Every operation of every product line works against the real sandbox: each question is
answered with real values for customers who hold the product (and politely for those who
don't), and each form can be walked through to its answer."""

from __future__ import annotations

import re

import httpx
import pytest

from registry.catalogue import default_catalogue
from tests.operations.conftest import SERVICE_SECRET
from tests.operations.conversation import Conversation

CATALOGUE = default_catalogue()
QUESTIONS = sorted(name for name, op in CATALOGUE.operations.items() if not op.is_form)
FORMS = sorted(name for name, op in CATALOGUE.operations.items() if op.is_form)
CUSTOMERS = [f"C{number:05d}" for number in range(1, 31)]
UNFILLED = re.compile(r"\{[a-z_.0-9]+\}")
# Answers a customer might give to each kind of question, and to a few particular ones.
TYPED_ANSWERS = {
    "money": "100",
    "text": "My phone screen broke when I dropped it",
    "date": "yesterday",
}
PARTICULAR_ANSWERS = {
    "credit_new_limit": "50000",
    "remittance_beneficiary_name": "David Chen",
    "remittance_beneficiary_account": "GB29NWBK60161331926819",
}


def assert_reads_well(replies: list[str]) -> None:
    for reply in replies:
        assert not UNFILLED.search(reply), reply


def pressed(button: dict[str, str]) -> dict[str, str]:
    """The entity a button's payload carries, as the NLU would read it."""
    entity = re.search(r'\{"(\w+)": "([^"]+)"\}', button["payload"])
    return {entity.group(1): entity.group(2)} if entity else {}


@pytest.mark.parametrize("operation", QUESTIONS)
async def test_a_question_is_answered_for_every_customer(operation, client, domain_dict):
    answered = 0
    for customer in CUSTOMERS:
        chat = Conversation(customer, client, domain_dict)
        replies = await chat.say(operation.replace("_", " "), operation)
        if "utter_which_one" in chat.last_responses:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], operation, **pressed(button))
        assert replies, customer
        assert_reads_well(replies)
        answered += CATALOGUE.operations[operation].answer in " ".join(
            str(r) for r in chat.last_responses
        )
    assert answered, f"{operation} answered nobody with its own answer"


async def sms_code(base_url: str, customer: str) -> str:
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {SERVICE_SECRET}"}
    ) as http:
        inbox = (await http.get(f"/sandbox/devices/{customer}/messages")).json()
    return inbox["messages"][0]["code"]


async def walk_through(chat: Conversation, operation: str, base_url: str) -> list[str]:
    """Answers every question the form asks as a customer would: the first button, or a
    typical typed answer; says yes and types the SMS code."""
    replies = await chat.say(operation.replace("_", " "), operation)
    for _ in range(12):
        assert_reads_well(replies)
        if chat.form is None:
            return replies
        requested = chat.slots.get("requested_slot")
        spec = CATALOGUE.slots.get(requested or "")
        if requested == "confirmed":
            replies = await chat.say("yes", "affirm")
        elif requested == "verification_code":
            replies = await chat.say(await sms_code(base_url, chat.sender.split(":")[1]), "inform")
        elif chat.last_buttons:
            button = chat.last_buttons[0]
            replies = await chat.say(button["payload"], "inform", **pressed(button))
        else:
            kind = spec.kind if spec else "text"
            text = "for 2 weeks" if spec and spec.future else TYPED_ANSWERS.get(kind, "yes")
            replies = await chat.say(PARTICULAR_ANSWERS.get(requested, text), "inform")
    raise AssertionError(f"{operation} never finished")


@pytest.mark.parametrize("operation", FORMS)
async def test_a_form_can_be_walked_through_to_its_answer(operation, client, sandbox, domain_dict):
    answer = CATALOGUE.operations[operation].answer
    outcomes = []
    for customer in CUSTOMERS:
        chat = Conversation(customer, client, domain_dict)
        await walk_through(chat, operation, sandbox.base_url)
        outcomes.append(chat.last_responses)
        if any(str(name).startswith(answer) for name in chat.last_responses):
            return
    pytest.fail(
        f"{operation} reached its answer for none of {len(CUSTOMERS)} customers: {outcomes[-5:]}"
    )
