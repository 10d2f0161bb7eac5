"""Every product line, walked once through the real assistant in the customer's own words.

The operations suite drives the forms with entities passed in directly; here the real Rasa
server reads what a signed-in customer types (NLU, policies, forms), the real action server
carries out the request against the real sandbox, and each test checks both what the customer
reads and what the back end holds afterwards. The module chats as its own customers on servers
it shares with other modules (tests/e2e/conftest.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from common.customer_binding import issue_sign_in_token
from common.environment import DEV_SIGNING_SECRET
from services.desk.settings import DEFAULT_DEMO_PASSWORD
from tests.e2e.servers import RunningAssistant, SharedAssistant

pytestmark = pytest.mark.e2e

Profile = dict[str, Any]


@pytest.fixture(scope="module")
def assistant(
    shared_assistant: SharedAssistant, request: pytest.FixtureRequest
) -> Iterator[RunningAssistant]:
    running = shared_assistant.module(request, block=1)
    yield running
    assert running.server_errors() == []


@pytest.fixture(scope="module")
def find_customer(assistant: RunningAssistant) -> Callable[[str, Callable[..., bool]], str]:
    """The first seeded customer who fits, never one an earlier test of the module chatted as
    (a signed-in customer has one conversation, and it should start fresh)."""
    taken: set[str] = set()

    def find(description: str, fits: Callable[[Customer], bool]) -> str:
        for customer_id in assistant.customer_ids:
            if customer_id not in taken and fits(Customer(assistant, customer_id)):
                taken.add(customer_id)
                return customer_id
        raise AssertionError(f"no seeded customer {description}")

    return find


class Customer:
    """A signed-in customer: chats over the signed REST channel, reads the phone's texts, and
    (for the test's checks) reads their own data at the back end."""

    def __init__(self, assistant: RunningAssistant, customer_id: str) -> None:
        self.assistant = assistant
        self.id = customer_id
        self.sender = f"lines-{uuid.uuid4().hex[:8]}"
        self.token = issue_sign_in_token(customer_id, DEV_SIGNING_SECRET.encode())
        self.buttons: list[dict[str, Any]] = []

    def say(self, text: str) -> list[str]:
        status, replies = self.assistant.say(self.sender, text, self.token)
        assert status == 200, (text, status)
        self.buttons = [button for reply in replies for button in reply.get("buttons") or []]
        texts = [reply.get("text") or "" for reply in replies]
        assert texts and all(texts), (text, replies)
        return texts

    def press(self, title_contains: str) -> tuple[dict[str, Any], list[str]]:
        """Presses the offered button whose title contains the words; returns it and the
        replies."""
        button = next(b for b in self.buttons if title_contains in b["title"])
        return button, self.say(button["payload"])

    def sms_code(self) -> str:
        newest = self.assistant.backend("GET", f"/sandbox/devices/{self.id}/messages")
        code = newest["messages"][0]["code"]
        assert code, newest
        return code

    def get(self, path: str) -> Any:
        return self.assistant.backend("GET", f"/v1/customers/me{path}", customer_id=self.id)

    @property
    def products(self) -> list[str]:
        return self.get("")["products"]


def entity_of(button: dict[str, Any]) -> str:
    """The one entity value of a button's payload, such as /inform{"card_last_four": "CD01"}."""
    payload = button["payload"]
    (value,) = json.loads(payload[payload.index("{") :]).values()
    return value


def money(amount: Decimal | str) -> str:
    return f"{Decimal(amount):,.2f} CNY"


def day(when: date) -> str:
    return f"{when.day} {when:%b %Y}"


def shown_card(card: dict[str, Any]) -> str:
    """A card as the customer reads it: bullets, not the back end's asterisks, which web
    chat's Markdown would turn bold."""
    return f"•••• {card['card_number_masked'][-4:]}"


def reference(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"no reference {pattern} in {text!r}"
    return found.group(0)


def sandbox_row(assistant: RunningAssistant, query: str, *params: str) -> tuple[Any, ...]:
    """One row of the sandbox's database, for what its API does not read back (disputes of
    wallet charges, fraud cases)."""
    path = assistant.environment["SANDBOX_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with closing(sqlite3.connect(path)) as database:
        rows = database.execute(query, params).fetchall()
    assert len(rows) == 1, (query, params, rows)
    return rows[0]


def balance(customer: Customer, account_number: str) -> Decimal:
    account = customer.get(f"/accounts/{account_number}")
    return Decimal(account["balance"]["amount"])


def test_payments_a_charge_for_goods_that_never_came_is_disputed(assistant, find_customer):
    customer = Customer(assistant, find_customer("with a wallet", lambda c: "wallet" in c.products))

    asked = customer.say(
        "a shop took money from my wallet for headphones that never turned up, "
        "I want to dispute that payment"
    )
    assert asked[0].startswith("Which payment is it?")
    charge, replies = customer.press(" at ")
    assert replies == ["What went wrong with this payment?"]
    assert customer.say("I never received it")[0].startswith("In a sentence or two")
    what_happened = "I ordered headphones three weeks ago and they never arrived"
    confirmation = customer.say(what_happened)[0]
    assert charge["title"].split(",")[0].replace(" at ", " to ") in confirmation
    assert '"I never received it"' in confirmation and what_happened in confirmation
    done = customer.say("yes please")[0]

    transaction_id = entity_of(charge)
    dispute_id = reference(r"DSP\w+", done)
    assert done.startswith(f"Your dispute is open, reference {dispute_id}.")
    assert f"({transaction_id})" in done
    assert sandbox_row(
        assistant,
        "SELECT customer_id, transaction_id, reason, description FROM disputes WHERE id = ?",
        dispute_id,
    ) == (customer.id, transaction_id, "not_received", what_happened)


def test_bank_the_card_the_customer_names_is_frozen_after_the_sms_code(assistant, find_customer):
    def two_active_cards(c: Customer) -> bool:
        cards = c.get("/cards")["cards"] if "debit_card" in c.products else []
        return sum(card["status"] == "active" for card in cards) >= 2

    customer = Customer(assistant, find_customer("with two active debit cards", two_active_cards))
    kept, frozen = [c for c in customer.get("/cards")["cards"] if c["status"] == "active"][:2]
    last4 = frozen["card_number_masked"][-4:]

    assert customer.say("I can't find my debit card, can you put a temporary freeze on it") == [
        "Which card?"
    ]
    confirmation = customer.say(f"the card ending in {last4}")[0]
    assert confirmation.startswith(f"I'll freeze your card {shown_card(frozen)}")
    assert "6-digit code by SMS" in customer.say("yes")[0]
    done = customer.say(customer.sms_code())

    assert done == [
        f"Your card {shown_card(frozen)} is frozen. "
        'Say "unfreeze my card" whenever you want it back.',
        "How satisfied are you with the help you got today?",
    ]
    assert customer.get(f"/cards/{frozen['card_id']}")["status"] == "frozen"
    assert customer.get(f"/cards/{kept['card_id']}")["status"] == "active"


def test_credit_part_of_the_bill_is_repaid_from_the_account_the_customer_names(
    assistant, find_customer
):
    def can_repay_from_savings(c: Customer) -> bool:
        if not {"credit_line", "bank_account"} <= set(c.products):
            return False
        bill = c.get("/credit-line/bills/current")
        accounts = c.get("/accounts")["accounts"]
        savings = [a for a in accounts if a["kind"] == "savings"]
        return (
            bill["status"] in ("open", "overdue")
            and Decimal(bill["remaining"]["amount"]) > 300
            and len(accounts) > 1
            and len(savings) == 1
            and Decimal(savings[0]["balance"]["amount"]) > 300
        )

    customer = Customer(
        assistant,
        find_customer(
            "with a credit bill and one savings account among others", can_repay_from_savings
        ),
    )
    bill = customer.get("/credit-line/bills/current")
    account = next(a for a in customer.get("/accounts")["accounts"] if a["kind"] == "savings")
    before = balance(customer, account["account_number"])
    remaining = Decimal(bill["remaining"]["amount"])

    assert customer.say("I'd like to pay 300 yuan off my credit card bill") == [
        "From which account?"
    ]
    confirmation = customer.say("savings")[0]
    assert confirmation.startswith(
        f"Please check: repay 300.00 CNY towards your credit bill for {bill['period']}"
    )
    assert f"{money(remaining)} left to pay" in confirmation
    assert confirmation.endswith(
        f"from your savings account ending {account['account_number'][-4:]}. Shall I go ahead?"
    )
    assert "6-digit code by SMS" in customer.say("yes, go ahead")[0]
    done = customer.say(customer.sms_code())[0]

    assert done.startswith(f"Done: 300.00 CNY paid towards your credit bill for {bill['period']}")
    assert f"Still to pay on this bill: {money(remaining - 300)}" in done
    after = customer.get("/credit-line/bills/current")
    assert Decimal(after["remaining"]["amount"]) == remaining - 300
    assert balance(customer, account["account_number"]) == before - 300


def test_insurance_a_claim_is_filed_on_the_policy_the_customer_picks(assistant, find_customer):
    def health_among_policies(c: Customer) -> bool:
        if "insurance" not in c.products:
            return False
        active = [p for p in c.get("/policies")["policies"] if p["status"] == "active"]
        return len(active) > 1 and sum(p["product"] == "health" for p in active) == 1

    customer = Customer(
        assistant, find_customer("with a health policy among others", health_among_policies)
    )
    yesterday = date.today() - timedelta(days=1)

    asked = customer.say(
        "I slipped yesterday and broke my wrist, I want to claim for the hospital bill"
    )
    assert asked == ["Which policy would you like to claim on?"]
    policy, replies = customer.press("Health")
    assert replies == ["In a sentence or two, what happened?"]
    what_happened = "I slipped on the ice and broke my wrist, I needed an x-ray and a cast"
    assert customer.say(what_happened)[0].startswith("How much are you claiming?")
    confirmation = customer.say("1,850 yuan")[0]
    assert f"it happened on {day(yesterday)}, you are claiming 1,850.00 CNY" in confirmation
    done = customer.say("yes")

    policy_number = entity_of(policy)
    claim_id = reference(r"CLM\w+", done[0])
    assert done[0].startswith(
        f"Your claim is in. Reference {claim_id}: 1,850.00 CNY on policy {policy_number}."
    )
    assert done[1] == "Would you like to know which documents to upload for it?"
    claim = customer.get(f"/claims/{claim_id}")
    assert (claim["policy_number"], claim["incident_date"], claim["description"]) == (
        policy_number,
        yesterday.isoformat(),
        what_happened,
    )
    assert (claim["amount_claimed"], claim["status"]) == (
        {"amount": "1850.00", "currency": "CNY"},
        "submitted",
    )


def test_wealth_money_comes_out_of_the_fund_instantly_after_the_sms_code(assistant, find_customer):
    def fund_and_a_current_account(c: Customer) -> bool:
        if not {"fund", "bank_account"} <= set(c.products):
            return False
        kinds = [a["kind"] for a in c.get("/accounts")["accounts"]]
        return kinds.count("current") == 1 and "savings" in kinds

    customer = Customer(
        assistant,
        find_customer("with the fund, a savings and a current account", fund_and_a_current_account),
    )
    account = next(a for a in customer.get("/accounts")["accounts"] if a["kind"] == "current")
    account_before = balance(customer, account["account_number"])
    fund_before = Decimal(customer.get("/fund")["balance"]["amount"])

    assert customer.say("I need 500 yuan out of the money market fund") == [
        "Which account should the money go to?"
    ]
    assert customer.say("current")[0].startswith("How fast do you need it?")
    confirmation = customer.say("instant please")[0]
    assert confirmation.startswith(
        "Please check: take 500.00 CNY out of the fund into your current account ending "
        f"{account['account_number'][-4:]}, speed: Instant"
    )
    assert "6-digit code by SMS" in customer.say("yes")[0]
    done = customer.say(customer.sms_code())[0]

    order_id = reference(r"FO\w+", done)
    assert done == (
        f"Done: 500.00 CNY is already in your account ending {account['account_number'][-4:]} "
        f"(order {order_id}). Your fund balance is now {money(fund_before - 500)}."
    )
    order = customer.get(f"/fund/orders/{order_id}")
    assert (order["kind"], order["amount"], order["speed"], order["bank_account"]) == (
        "redemption",
        "500.00",
        "instant",
        account["account_number"],
    )
    assert Decimal(customer.get("/fund")["balance"]["amount"]) == fund_before - 500
    assert balance(customer, account["account_number"]) == account_before + 500


def test_score_a_wrong_record_on_the_credit_report_is_disputed(assistant, find_customer):
    def two_reported_records(c: Customer) -> bool:
        records = c.get("/credit-score/records")["records"]
        return sum(r["status"] == "reported" for r in records) >= 2

    customer = Customer(
        assistant, find_customer("with two records on the credit report", two_reported_records)
    )

    asked = customer.say(
        "there's a loan inquiry on my credit report from a bank I never applied to, "
        "I want it corrected"
    )
    assert asked == ["Which record on your credit report is wrong?"]
    record, replies = customer.press(",")
    assert replies[0].startswith("Why is this record wrong?")
    why = "I never applied for a loan with that bank, someone used my name"
    confirmation = customer.say(why)[0]
    assert confirmation.startswith("I'll dispute this record on your credit report:")
    assert f'Your reason: "{why}"' in confirmation
    done = customer.say("yes")[0]

    dispute_id = reference(r"SDP\w+", done)
    assert done.startswith(
        f"Your dispute is open, reference {dispute_id}, and the record is now marked as disputed."
    )
    records = {
        r["record_id"]: r["status"] for r in customer.get("/credit-score/records")["records"]
    }
    assert records.pop(entity_of(record)) == "disputed"
    assert "disputed" not in records.values()


def test_international_the_card_is_switched_on_abroad_for_the_trip(assistant, find_customer):
    def one_active_card(c: Customer) -> bool:
        cards = c.get("/cards")["cards"] if "debit_card" in c.products else []
        return [card["status"] for card in cards] == ["active"]

    customer = Customer(assistant, find_customer("with one debit card", one_active_card))
    (card,) = customer.get("/cards")["cards"]
    until = date.today() + timedelta(days=14)

    asked = customer.say("I'm flying to Japan on holiday, will my debit card work over there?")
    assert asked[0].startswith("Until when will you be away?")
    assert customer.say("for 2 weeks") == [
        f"I'll switch on your card {shown_card(card)} for use in Japan "
        f"until {day(until)}. Go ahead?"
    ]
    done = customer.say("yes")[0]

    assert done.startswith(f"Done: your card {shown_card(card)} works in Japan until {day(until)}.")
    travel = customer.get(f"/cards/{card['card_id']}")["travel"]
    assert travel == {"regions": ["JP"], "until": until.isoformat()}


def test_security_a_fraud_report_is_filed_and_handed_to_the_fraud_team(assistant, find_customer):
    customer = Customer(assistant, find_customer("at all", lambda c: True))

    asked = customer.say(
        "someone rang pretending to be from your bank and I gave them a code, now money is gone"
    )
    assert "tell me briefly what happened" in asked[0]
    what_happened = "they took 2,000 yuan from my wallet this morning after I read them the code"
    confirmation = customer.say(what_happened)[0]
    assert f'"{what_happened}"' in confirmation and "fraud specialist" in confirmation
    done = customer.say("yes")

    case_id = reference(r"FRD\w+", done[0])
    assert done[0].startswith(f"Your report is with our fraud team, case reference {case_id}.")
    # Nobody is at the desk's console in this module, so a person will call back.
    assert "call you back on your registered phone" in done[1]
    assert sandbox_row(
        assistant,
        "SELECT customer_id, description, status FROM fraud_cases WHERE id = ?",
        case_id,
    ) == (customer.id, what_happened, "open")
    with httpx.Client(base_url=assistant.desk_url) as agent:
        signed_in = agent.post(
            "/console/login", data={"username": "agent", "password": DEFAULT_DEMO_PASSWORD}
        )
        assert signed_in.status_code == 303
        callbacks = agent.get("/api/agent/queue").json()["callbacks"]
    (ticket,) = [t for t in callbacks if t["conversation_id"] == f"customer:{customer.id}"]
    assert (ticket["skill"], ticket["reason"], ticket["reason_detail"]) == (
        "security",
        "policy",
        "Report fraud or a scam",
    )
