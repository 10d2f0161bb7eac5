"""Outbound notices end to end: an event made in the back end (the sandbox's admin route)
reaches the customer's own conversation in the real Rasa server through the notifier and the
action server, and pressing the notice's button runs its flow. A customer in the middle of a
request gets the notice once it is over, and one who did not consent gets none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from actions.rendering import money_text
from common.customer_binding import bound_sender_id, issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from proactive import notifier_store as store
from proactive.notifier import delivered
from tests.e2e.notifier_process import notifier_beside
from tests.e2e.servers import RunningAssistant, assistant_in

pytestmark = pytest.mark.e2e

NOTICE_SECONDS = 30


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proactive-notice")


@pytest.fixture(scope="module")
def assistant(trained_model: Path, data_dir: Path) -> Iterator[RunningAssistant]:
    # Servers of its own: the notifier reads every event of the sandbox it is given.
    with assistant_in(data_dir, trained_model) as running, notifier_beside(running, data_dir):
        yield running


def decided(data_dir: Path, event_id: str) -> str:
    """What the notifier decided about the event, once it has (its database, read-only)."""
    engine = create_engine(f"sqlite:///file:{data_dir / 'notifier.db'}?mode=ro&uri=true")
    deadline = time.monotonic() + NOTICE_SECONDS
    try:
        while time.monotonic() < deadline:
            status = store.notice_status(engine).get(event_id)
            if status not in (None, store.WAITING):
                return status
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise AssertionError(f"the notifier decided nothing about {event_id}")


def token_for(customer_id: str) -> str:
    return issue_sign_in_token(customer_id, DEV_SIGNING_SECRET.encode())


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(reply.get("text") or "" for reply in replies)


def bot_messages(assistant: RunningAssistant, customer: str) -> list[dict[str, Any]]:
    events = assistant.tracker(bound_sender_id(customer))["events"]
    return [event for event in events if event["event"] == "bot"]


def notice_in(assistant: RunningAssistant, customer: str, words: str) -> dict[str, Any] | None:
    for message in bot_messages(assistant, customer):
        if words in (message.get("text") or ""):
            return message
    return None


def wait_for_notice(assistant: RunningAssistant, customer: str, words: str) -> dict[str, Any]:
    deadline = time.monotonic() + NOTICE_SECONDS
    while time.monotonic() < deadline:
        found = notice_in(assistant, customer, words)
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no notice saying {words!r} reached {customer}'s conversation")


def wallet_customers(assistant: RunningAssistant, count: int) -> Iterator[str]:
    found = 0
    for customer in assistant.customer_ids:
        profile = assistant.backend("GET", "/v1/customers/me", customer_id=customer)
        if "wallet" in profile["products"] and not profile["account_locked"]:
            yield customer
            found += 1
            if found == count:
                return


def notifications(assistant: RunningAssistant, customer: str, consent: bool) -> None:
    """No quiet hours: the seeded ones may hold the hour the test runs at."""
    assistant.backend(
        "PUT",
        "/v1/customers/me/notifications",
        {"consent": consent, "quiet_hours": None},
        customer_id=customer,
    )


@pytest.fixture(scope="module")
def customers(assistant: RunningAssistant) -> list[str]:
    return list(wallet_customers(assistant, 4))


def test_a_failed_payment_reaches_the_customer_and_the_button_says_why(
    assistant, customers, data_dir
):
    customer = customers[0]
    notifications(assistant, customer, consent=True)
    # They have talked to the assistant before: the notice goes to their conversation.
    assistant.say("ignored", "hello", token_for(customer))

    failed = assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    transaction = assistant.backend(
        "GET", f"/v1/customers/me/wallet/transactions/{failed['reference']}", customer_id=customer
    )
    amount = money_text(transaction["amount"], transaction["currency"])
    notice = wait_for_notice(assistant, customer, f"Your {amount} payment")
    assert transaction["merchant"] in notice["text"]
    (button,) = notice["data"]["buttons"]
    assert button["payload"] == f'/payments_failed{{"transaction_ref": "{failed["reference"]}"}}'

    _, replies = assistant.say("ignored", button["payload"], token_for(customer))

    said = texts(replies)
    assert f"Your payment of {amount} to {transaction['merchant']}" in said
    assert "did not go through" in said
    # The notifier read Rasa's conversation and saw the notice there.
    assert decided(data_dir, failed["event_id"]) == store.SENT
    # Sent once, however long the notifier keeps running.
    time.sleep(2)
    said_to_them = [message.get("text") or "" for message in bot_messages(assistant, customer)]
    assert len([text for text in said_to_them if f"Your {amount} payment" in text]) == 1
    assert assistant.server_errors() == []


def test_a_customer_mid_request_gets_the_notice_when_it_is_over(assistant, customers):
    customer = customers[1]
    notifications(assistant, customer, consent=True)
    _, replies = assistant.say("ignored", "I want to send 20 yuan to someone", token_for(customer))
    assert "send money to" in texts(replies)

    failed = assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    time.sleep(3)
    assert notice_in(assistant, customer, "did not go through") is None, "the form was interrupted"

    _, replies = assistant.say("ignored", "no, cancel it", token_for(customer))
    assert "cancelled" in texts(replies)
    notice = wait_for_notice(assistant, customer, "did not go through")
    assert failed["reference"] in notice["data"]["buttons"][0]["payload"]


def test_a_customer_who_did_not_consent_gets_no_notice(assistant, customers, data_dir):
    customer = customers[2]
    notifications(assistant, customer, consent=False)
    assistant.say("ignored", "hello", token_for(customer))
    failed = assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )
    assert decided(data_dir, failed["event_id"]) == store.SKIPPED
    assert notice_in(assistant, customer, "did not go through") is None


def test_a_trigger_that_reaches_a_form_in_progress_is_not_counted_as_sent(assistant, customers):
    # The race the notifier's look cannot close: a form begins just before the trigger. Rasa
    # gives a form in progress every message, the trigger too, so the notice's action does not
    # run; the notifier reads the conversation after each trigger and tries again later.
    customer = customers[3]
    conversation = bound_sender_id(customer)
    notifications(assistant, customer, consent=False)
    assistant.say("ignored", "I want to send 20 yuan to someone", token_for(customer))
    form = assistant.tracker(conversation)["active_loop"]["name"]
    failed = assistant.backend(
        "POST", "/sandbox/events", {"customer_id": customer, "kind": "payment_failed"}
    )

    assistant.api(
        f"/conversations/{conversation}/trigger_intent?output_channel=latest",
        {"name": "EXTERNAL_proactive_notice", "entities": {"event_id": failed["event_id"]}},
    )

    after = assistant.tracker(conversation)
    assert not delivered(after, failed["event_id"])
    assert notice_in(assistant, customer, "did not go through") is None
    assert after["active_loop"]["name"] == form
