"""The conversation simulator: its customers judge their goal right both ways, never say a
training example, come about payments, cards and bills most, act as a person would in a chat,
and a small run against the real assistant writes the KPIs file."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from bench.simulator import started_by_scripts_run
from bench.simulator_customer import Conversation, Habits
from bench.simulator_goals import (
    GOALS,
    GOALS_BY_NAME,
    Case,
    Snapshot,
    Transcript,
    Turn,
    line_weights,
    opener_slots,
)
from bench.simulator_words import Voice, normalise, training_texts
from common.ports import free_port
from registry.catalogue import default_catalogue
from tests.benchmark_runs import run_benchmark

CARD = {"card_id": "CD0000900", "card_number_masked": "**** **** **** 4321", "status": "active"}
OTHER_CARD = {"card_id": "CD0000901", "card_number_masked": "**** **** **** 8765"}


def judged(
    goal_name: str,
    particulars: dict[str, Any],
    before: dict[str, Any],
    after: dict[str, Any],
    said_by_assistant: list[str] = (),
) -> bool:
    transcript = Transcript([Turn("assistant", text) for text in said_by_assistant])
    case = Case(
        GOALS_BY_NAME[goal_name],
        particulars,
        Snapshot.of(before),
        Snapshot.of(after),
        transcript,
    )
    return GOALS_BY_NAME[goal_name].judge(case).met


# -- the judge, on conversations whose outcome is known ---------------------------------------


def test_a_card_the_customer_wanted_frozen_is_met_only_once_the_back_end_has_it_frozen():
    particulars = {"card": CARD, "press": ["4321"]}
    before = {"/cards/CD0000900": CARD}

    assert judged(
        "bank_freeze_card", particulars, before, {"/cards/CD0000900": {**CARD, "status": "frozen"}}
    )
    assert not judged(
        "bank_freeze_card",
        particulars,
        before,
        {"/cards/CD0000900": CARD},
        ["I'll freeze your card •••• 4321: payments with it stop until you unfreeze it. Go ahead?"],
    )


def test_a_transfer_is_met_by_a_new_transfer_of_that_amount_to_that_recipient_only():
    particulars = {"amount": "200", "recipient": "刘敏燕", "known_transfers": ["TR1"]}
    old = {"transfer_id": "TR1", "amount": "200.00", "recipient_name": "刘敏燕"}
    new = {"transfer_id": "TR2", "amount": "200.00", "recipient_name": "刘敏燕"}
    wrong_amount = {"transfer_id": "TR3", "amount": "20.00", "recipient_name": "刘敏燕"}
    before = {"/transfers": {"transfers": [old]}}

    assert judged("bank_transfer", particulars, before, {"/transfers": {"transfers": [new, old]}})
    assert not judged("bank_transfer", particulars, before, before)
    assert not judged(
        "bank_transfer", particulars, before, {"/transfers": {"transfers": [wrong_amount, old]}}
    )


def test_a_balance_question_is_met_by_the_balance_held_and_not_by_another_figure():
    before = {"/wallet": {"balance": {"amount": "13826.35", "currency": "CNY"}}}

    assert judged("payments_balance", {}, before, before, ["Your wallet balance is 13,826.35 CNY."])
    assert not judged(
        "payments_balance", {}, before, before, ["Your wallet balance is 138.26 CNY."]
    )
    assert not judged("payments_balance", {}, before, before, ["Sorry, I didn't catch that."])


def test_a_bill_repayment_is_met_when_the_bill_shows_that_much_more_paid():
    bill = {"paid": {"amount": "0.00", "currency": "CNY"}, "status": "open"}
    before = {"/credit-line/bills/current": bill}
    paid = {"/credit-line/bills/current": {**bill, "paid": {"amount": "300.00", "currency": "CNY"}}}

    assert judged("credit_repay", {"amount": "300"}, before, paid)
    assert not judged("credit_repay", {"amount": "500"}, before, paid)


def test_a_disputed_charge_is_met_by_a_new_dispute_at_the_back_end_not_by_the_words():
    opened = ["Your dispute is open, reference DSP1. Our disputes team will look into it."]

    assert judged(
        "payments_dispute_charge", {}, {"table:disputes": 0}, {"table:disputes": 1}, opened
    )
    assert not judged(
        "payments_dispute_charge", {}, {"table:disputes": 1}, {"table:disputes": 1}, opened
    )


def test_asking_for_a_person_is_met_by_a_handoff_or_a_callback_and_not_by_an_answer():
    callback = (
        "All our colleagues are busy right now. I've passed them this chat, so you won't need to "
        "explain it again, and one of them will call you back on your registered phone by 18:00."
    )

    assert judged("talk_to_person", {}, {}, {}, [callback])
    assert not judged("talk_to_person", {}, {}, {}, ["Sure, what can I do for you?"])


def test_an_out_of_scope_request_is_handled_when_the_customer_is_told_so():
    assert judged("out_of_scope", {}, {}, {}, ["Sorry, that's not something I can help with here."])
    assert not judged("out_of_scope", {}, {}, {}, ["Your wallet balance is 10.00 CNY."])


# -- the words -----------------------------------------------------------------------------


def every_template() -> list[tuple[str, ...]]:
    from bench import simulator_customer as customer

    fixed = [
        customer.ASK_PERSON,
        customer.SIDE_QUESTIONS,
        customer.CANCEL,
        customer.THANKS,
        customer.NO_MORE,
        *customer.COMMENTS.values(),
    ]
    return (
        [goal.openers for goal in GOALS]
        + [templates for goal in GOALS for _, templates in goal.answers]
        + fixed
    )


def test_no_message_the_customers_write_is_an_example_the_assistant_was_trained_on():
    known = training_texts()
    rng = random.Random(7)
    slots = opener_slots({"amount": "200", "recipient": "Li Lei", "last4": "4321"}, rng)
    said = [
        Voice.draw(rng).say(templates, rng, slots)
        for templates in every_template()
        for _ in range(40)
    ]

    assert len(set(said)) > 500  # varied
    assert [text for text in said if normalise(text) in known] == []


def test_a_template_that_is_word_for_word_a_training_example_is_said_differently():
    trained = "wallet balance"
    assert normalise(trained) in training_texts()
    plain = Voice(typo_rate=0, lower_case=True, drops_punctuation=True, filler_rate=0)

    said = plain.say((trained,), random.Random(1))

    assert normalise(said) not in training_texts() and trained in said


# -- who comes, and for what ---------------------------------------------------------------


def test_most_customers_come_about_payments_cards_and_bills_and_every_line_is_asked_about():
    shares = line_weights()

    assert shares["payments"] + shares["bank"] + shares["credit"] > 0.65
    for rarer in ("insurance", "wealth", "score", "international", "security"):
        assert shares[rarer] < min(shares["payments"], shares["bank"], shares["credit"]) / 2
    lines = {line.name for line in default_catalogue().lines}
    assert set(shares) == lines
    assert abs(sum(shares.values()) - 1) < 1e-9


# -- the customer in a chat ------------------------------------------------------------------


class ScriptedChat:
    """An assistant that freezes a card as the real one does, and a phone with a code."""

    def __init__(self) -> None:
        self.card_status = "active"
        self.heard: list[str] = []

    def send(self, message: str) -> list[dict[str, Any]]:
        self.heard.append(message)
        if len(self.heard) == 1:
            return [
                {
                    "text": "Which card?",
                    "buttons": [
                        {
                            "title": "debit card •••• 8765",
                            "payload": '/inform{"card": "CD0000901"}',
                        },
                        {
                            "title": "debit card •••• 4321",
                            "payload": '/inform{"card": "CD0000900"}',
                        },
                    ],
                }
            ]
        if message == '/inform{"card": "CD0000900"}':
            return [{"text": "I'll freeze your card •••• 4321: payments stop. Go ahead?"}]
        if len(self.heard) == 3:
            return [{"text": "For your security, I've sent a 6-digit code by SMS to +86 1**."}]
        if message == "482913":
            self.card_status = "frozen"
            rating = [
                {"title": str(n), "payload": f'/rate_service{{"rating": "{n}"}}'}
                for n in range(1, 6)
            ]
            return [
                {"text": "Your card •••• 4321 is frozen."},
                {"text": "How would you rate the help you got?", "buttons": rating},
            ]
        return [{"text": "Thank you for rating us; it helps us get better."}]

    def latest_code(self) -> str:
        return "482913"

    def snapshot(self) -> Snapshot:
        return Snapshot.of({"/cards/CD0000900": {**CARD, "status": self.card_status}})


def test_a_customer_presses_their_card_confirms_types_the_phone_code_and_rates():
    goal = GOALS_BY_NAME["bank_freeze_card"]
    chat = ScriptedChat()
    steady = Habits(False, False, False, False, False, False)
    plain = Voice(typo_rate=0, lower_case=False, drops_punctuation=False, filler_rate=0)
    ratings = []
    for seed in range(20):
        chat = ScriptedChat()
        particulars = {"card": CARD, "press": ["4321"], "last4": "4321"}
        conversation = Conversation(
            goal, particulars, "C00009", chat, random.Random(seed), plain, steady
        )
        outcome = conversation.run(Snapshot.of({}))

        assert chat.heard[1] == '/inform{"card": "CD0000900"}'
        assert chat.heard[3] == "482913"
        assert outcome.met and outcome.rating_asked
        if outcome.rating is not None:
            assert chat.heard[4] == f'/rate_service{{"rating": "{outcome.rating}"}}'
            ratings.append(outcome.rating)
    # Customers who got what they came for mostly rate 4 or 5, and not all of them rate.
    assert 5 <= len(ratings) < 20
    assert sum(rating >= 4 for rating in ratings) >= 0.7 * len(ratings)


# -- a small run against the real assistant --------------------------------------------------


@pytest.mark.bench
@pytest.mark.e2e
def test_a_small_run_talks_to_the_real_assistant_and_writes_the_kpis_file(
    trained_model: Path, tmp_path: Path
):
    out = tmp_path / "kpis.md"

    run_benchmark(
        "bench.simulator",
        *("--conversations", "5", "--customers", "40", "--model", str(trained_model)),
        *("--out", str(out)),
        timeout=300,
    )

    text = out.read_text()
    for field in ("- date: ", "- commit: ", "- command: `"):
        assert field in text
    assert "bench.simulator --conversations 5 --customers 40 --model" in text
    assert "| in scope (all lines) |" in text
    assert "Conversations that broke (HTTP error or timeout): 0." in text
    assert "- assistant: " in text  # a conversation of the run, as it went


class AnsweringChat:
    """An assistant that answers the credit bill question and suggests what could come next."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def send(self, message: str) -> list[dict[str, Any]]:
        self.heard.append(message)
        return [
            {
                "text": "Your credit bill for 2026-11 is 4,060.00 CNY, due on 20 Dec 2026.",
                "buttons": [
                    {"title": "Repay now", "payload": "/credit_repay"},
                    {"title": "Split into instalments", "payload": "/credit_instalments"},
                ],
            }
        ]

    def latest_code(self) -> None:
        return None

    def snapshot(self) -> Snapshot:
        return Snapshot.of({})


def test_a_customer_answered_does_not_press_the_next_steps_the_assistant_suggests():
    bill = {"amount_due": {"amount": "4060.00", "currency": "CNY"}}
    steady = Habits(False, False, False, False, False, False)
    chat = AnsweringChat()
    conversation = Conversation(
        GOALS_BY_NAME["credit_bill"],
        {"bill": bill},
        "C00001",
        chat,
        random.Random(3),
        Voice.draw(random.Random(3)),
        steady,
    )

    outcome = conversation.run(Snapshot.of({}))

    assert outcome.met and len(chat.heard) == 1


class AsideChat:
    """An assistant asking which card, that answers an aside and drops the question."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def send(self, message: str) -> list[dict[str, Any]]:
        self.heard.append(message)
        if len(self.heard) == 2:  # the aside, whatever it was
            stars = [{"title": "5", "payload": '/rate_service{"rating": "5"}'}]
            return [
                {"text": "Your credit score is 673, which is very good."},
                {"text": "How satisfied are you with the help you got today?", "buttons": stars},
            ]
        return [
            {
                "text": "Which one do you mean?",
                "buttons": [{"title": "debit card •••• 4321", "payload": "/inform"}],
            }
        ]

    def latest_code(self) -> None:
        return None

    def snapshot(self) -> Snapshot:
        return Snapshot.of({})


def test_a_customer_whose_aside_ended_their_request_asks_for_it_again_before_any_rating():
    asks_on_the_way = Habits(False, False, True, False, False, False)
    chat = AsideChat()
    plain = Voice(typo_rate=0, lower_case=True, drops_punctuation=False, filler_rate=0)
    particulars = {"merchants": ["Taobao"], "card": CARD, "press": ["4321"]}
    conversation = Conversation(
        GOALS_BY_NAME["bank_card_declined"],
        particulars,
        "C00001",
        chat,
        random.Random(5),
        plain,
        asks_on_the_way,
    )

    conversation.run(Snapshot.of({}))

    aside, again = chat.heard[1], chat.heard[2]
    assert "credit score" in aside or "products" in aside
    assert "card" in again and not again.startswith("/rate_service")


def test_a_run_against_scripts_run_says_to_start_it_when_nothing_answers(monkeypatch):
    monkeypatch.setenv("RASA_PORT", str(free_port()))
    with pytest.raises(SystemExit, match="start scripts/run first"):
        with started_by_scripts_run():
            pass
