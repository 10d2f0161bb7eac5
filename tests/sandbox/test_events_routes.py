"""Back-end events made at run time: each kind makes the state its notice reads, the customer
sees the event (and only their own), the outbox holds it and never the seeded history.

A sandbox of this module's own per database, so the events it makes change no other module's
customers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tests.sandbox.conftest import (
    API_CUSTOMERS,
    BACKENDS,
    SERVICE_SECRET,
    RunningSandbox,
    database_urls,
)

ME = "/v1/customers/me"
HOLDS_EVERYTHING = (
    "EXISTS (SELECT 1 FROM wallets w WHERE w.customer_id = c.id)"
    " AND EXISTS (SELECT 1 FROM credit_lines l WHERE l.customer_id = c.id)"
    " AND EXISTS (SELECT 1 FROM cards k WHERE k.customer_id = c.id AND k.status = 'active')"
)
EVENT_KEYS = {"event_id", "kind", "reference", "summary", "occurred_at"}


class EventsSandbox(RunningSandbox):
    seeded_event_ids: set[str]

    def make(self, customer_id: str, kind: str) -> httpx.Response:
        with self.client() as http:
            return http.post("/sandbox/events", json={"customer_id": customer_id, "kind": kind})

    def made(self, customer_id: str, kind: str) -> dict[str, Any]:
        answer = self.make(customer_id, kind)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def outbox_row(self, event_id: str) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM event_outbox WHERE event_id = :e", e=event_id)
        return dict(rows[0]._mapping) if rows else None


@pytest.fixture(scope="module", params=BACKENDS)
def events_sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EventsSandbox]:
    backend = request.param
    async_url, sync_url = database_urls(
        backend, tmp_path_factory.mktemp(backend), "fincs_sandbox_events_test"
    )
    settings = Settings(
        database_url=async_url, service_secret=SERVICE_SECRET, customers=API_CUSTOMERS, seed=7
    )
    server = SandboxThread(settings).start()
    running = EventsSandbox(backend, server.base_url, sync_url)
    running.seeded_event_ids = {row[0] for row in running.rows("SELECT id FROM customer_events")}
    yield running
    running.close()
    server.stop()


def stored_time(value: Any) -> str:
    """A time read with raw SQL as the API writes it: SQLite hands back text."""
    return datetime.fromisoformat(str(value)).isoformat()


def first_customer(sandbox: RunningSandbox, where: str) -> str:
    found = sandbox.customers(where)
    assert found, where
    return found[0]


def read(sandbox: RunningSandbox, customer_id: str, path: str) -> dict[str, Any]:
    with sandbox.client(customer_id) as http:
        answer = http.get(path)
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


def test_the_event_is_the_customers_newest_and_readable_by_its_id(
    events_sandbox: EventsSandbox,
) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    made = events_sandbox.made(customer, "payment_failed")
    assert set(made) == EVENT_KEYS | {"customer_id"} and made["customer_id"] == customer
    event = {key: made[key] for key in EVENT_KEYS}
    assert read(events_sandbox, customer, f"{ME}/events/{made['event_id']}") == event
    assert read(events_sandbox, customer, f"{ME}/events")["events"][0] == event


def test_a_failed_payment_is_in_the_wallet_with_its_reason(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    made = events_sandbox.made(customer, "payment_failed")
    tx = read(events_sandbox, customer, f"{ME}/wallet/transactions/{made['reference']}")
    assert tx["status"] == "failed" and tx["failure_code"]
    assert f"{tx['amount']} {tx['currency']} to {tx['merchant']}" in made["summary"]
    diagnosis = read(
        events_sandbox, customer, f"{ME}/wallet/transactions/{made['reference']}/diagnosis"
    )
    assert diagnosis["money_taken"] is False
    assert diagnosis["reason_code"] == tx["failure_code"]


def test_a_declined_card_shows_the_decline_with_a_reason(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    made = events_sandbox.made(customer, "card_declined")
    card = read(events_sandbox, customer, f"{ME}/cards/{made['reference']}")
    assert card["status"] == "active" and card["card_number_masked"][-4:] in made["summary"]
    declines = read(events_sandbox, customer, f"{ME}/cards/{made['reference']}/declines")
    newest = declines["declines"][0]
    assert newest["occurred_at"] == made["occurred_at"]
    assert newest["merchant"] in made["summary"] and newest["explanation"]


def test_a_bill_due_tomorrow_is_the_current_bill(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    made = events_sandbox.made(customer, "bill_due_tomorrow")
    bill = read(events_sandbox, customer, f"{ME}/credit-line/bills/{made['reference']}")
    assert bill["days_until_due"] == 1 and bill["status"] == "open"
    assert Decimal(bill["remaining"]["amount"]) > 0
    assert f"{bill['remaining']['amount']} {bill['remaining']['currency']}" in made["summary"]
    current = read(events_sandbox, customer, f"{ME}/credit-line/bills/current")
    assert current["bill_id"] == made["reference"]


def test_after_a_settled_bill_the_next_one_is_due_tomorrow(events_sandbox: EventsSandbox) -> None:
    early, late = events_sandbox.customers(
        "EXISTS (SELECT 1 FROM credit_lines l WHERE l.customer_id = c.id)"
    )[-2:]
    settle = "UPDATE credit_bills SET status = 'paid', paid = amount_due WHERE customer_id = :c"
    events_sandbox.execute(settle, c=early)
    events_sandbox.execute(settle, c=late)
    # Paid before it was due: no bill can be due tomorrow.
    refused = events_sandbox.make(early, "bill_due_tomorrow")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "nothing_due"
    # Paid and past: the next statement is issued, due tomorrow.
    events_sandbox.execute(
        "UPDATE credit_bills SET due_date = :past WHERE customer_id = :c",
        c=late,
        past=date.today() - timedelta(days=5),
    )
    made = events_sandbox.made(late, "bill_due_tomorrow")
    bill = read(events_sandbox, late, f"{ME}/credit-line/bills/{made['reference']}")
    assert bill["days_until_due"] == 1 and bill["status"] == "open"
    assert Decimal(bill["paid"]["amount"]) == 0 < Decimal(bill["amount_due"]["amount"])
    current = read(events_sandbox, late, f"{ME}/credit-line/bills/current")
    assert current["bill_id"] == made["reference"]


def test_a_pending_refund_arrives_in_the_wallet(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(
        events_sandbox,
        "EXISTS (SELECT 1 FROM refunds r WHERE r.customer_id = c.id AND r.status = 'pending')",
    )
    pending = [
        r["refund_id"]
        for r in read(events_sandbox, customer, f"{ME}/wallet/refunds")["refunds"]
        if r["status"] == "pending"
    ]
    before = Decimal(read(events_sandbox, customer, f"{ME}/wallet")["balance"]["amount"])
    made = events_sandbox.made(customer, "refund_arrived")
    refund = read(events_sandbox, customer, f"{ME}/wallet/refunds/{made['reference']}")
    assert made["reference"] in pending
    assert refund["status"] == "completed" and refund["completed_at"] == made["occurred_at"]
    after = Decimal(read(events_sandbox, customer, f"{ME}/wallet")["balance"]["amount"])
    assert after - before == Decimal(refund["amount"])


def test_without_a_pending_refund_the_newest_payment_is_refunded(
    events_sandbox: EventsSandbox,
) -> None:
    customer = first_customer(
        events_sandbox,
        "EXISTS (SELECT 1 FROM wallets w WHERE w.customer_id = c.id)"
        " AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.customer_id = c.id)",
    )
    made = events_sandbox.made(customer, "refund_arrived")
    refund = read(events_sandbox, customer, f"{ME}/wallet/refunds/{made['reference']}")
    assert refund["status"] == "completed"
    tx = read(events_sandbox, customer, f"{ME}/wallet/transactions/{refund['transaction_id']}")
    assert tx["status"] == "refunded" and tx["amount"] == refund["amount"]
    assert tx["merchant"] in made["summary"]


def test_a_suspicious_payment_went_through_flagged_as_unusual(
    events_sandbox: EventsSandbox,
) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    made = events_sandbox.made(customer, "suspicious_payment")
    tx = read(events_sandbox, customer, f"{ME}/wallet/transactions/{made['reference']}")
    assert tx["status"] == "completed" and tx["risk_flag"] == "unusual_for_customer"
    assert tx["merchant"] in made["summary"]
    diagnosis = read(
        events_sandbox, customer, f"{ME}/wallet/transactions/{made['reference']}/diagnosis"
    )
    assert "unusual" in diagnosis["explanation"] and "report" in diagnosis["next_step"]
    others = read(events_sandbox, customer, f"{ME}/wallet/transactions")["transactions"]
    assert {t["risk_flag"] for t in others if t["transaction_id"] != tx["transaction_id"]} == {None}


def test_another_customers_event_is_not_found(events_sandbox: EventsSandbox) -> None:
    owner, other = events_sandbox.customers(HOLDS_EVERYTHING)[:2]
    made = events_sandbox.made(owner, "card_declined")
    with events_sandbox.client(other) as http:
        theirs = http.get(f"{ME}/events/{made['event_id']}")
        unknown = http.get(f"{ME}/events/EV0000000000000000")
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json() == unknown.json()


def test_only_the_service_may_make_events(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    count = "SELECT COUNT(*) FROM customer_events WHERE customer_id = :c"
    before = events_sandbox.scalar(count, c=customer)
    body = {"customer_id": customer, "kind": "payment_failed"}
    with httpx.Client(base_url=events_sandbox.base_url) as http:
        anonymous = http.post("/sandbox/events", json=body)
        wrong = http.post(
            "/sandbox/events", json=body, headers={"Authorization": "Bearer not-the-secret"}
        )
    assert anonymous.status_code == wrong.status_code == 401
    assert events_sandbox.scalar(count, c=customer) == before


def test_an_unknown_kind_or_customer_or_a_missing_product_makes_nothing(
    events_sandbox: EventsSandbox,
) -> None:
    outbox_before = events_sandbox.scalar("SELECT COUNT(*) FROM event_outbox")
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    assert events_sandbox.make(customer, "account_locked").status_code == 422
    unknown = events_sandbox.make("C99999", "payment_failed")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "customer_not_found"
    no_line = first_customer(
        events_sandbox, "NOT EXISTS (SELECT 1 FROM credit_lines l WHERE l.customer_id = c.id)"
    )
    refused = events_sandbox.make(no_line, "bill_due_tomorrow")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "product_missing"
    assert refused.json()["error"]["product"] == "credit_line"
    assert "credit line" in refused.json()["error"]["message"]
    no_wallet = first_customer(
        events_sandbox, "NOT EXISTS (SELECT 1 FROM wallets w WHERE w.customer_id = c.id)"
    )
    for kind in ("payment_failed", "refund_arrived", "suspicious_payment"):
        refused = events_sandbox.make(no_wallet, kind)
        assert refused.status_code == 422 and refused.json()["error"]["product"] == "wallet"
    assert events_sandbox.scalar("SELECT COUNT(*) FROM event_outbox") == outbox_before


def test_each_event_made_has_its_outbox_row_in_order(events_sandbox: EventsSandbox) -> None:
    customer = first_customer(events_sandbox, HOLDS_EVERYTHING)
    kinds = ("suspicious_payment", "card_declined", "payment_failed")
    made = [events_sandbox.made(customer, kind) for kind in kinds]
    rows = [events_sandbox.outbox_row(event["event_id"]) for event in made]
    for event, row in zip(made, rows, strict=True):
        assert row is not None
        assert (row["customer_id"], row["kind"], row["reference"]) == (
            customer,
            event["kind"],
            event["reference"],
        )
        assert stored_time(row["occurred_at"]) == event["occurred_at"]
        assert row["published_at"] is None  # no RabbitMQ configured: the table is the queue
    assert [row["seq"] for row in rows] == sorted(row["seq"] for row in rows)
    assert len({row["seq"] for row in rows}) == len(rows)


def test_the_seeded_history_is_not_in_the_outbox(events_sandbox: EventsSandbox) -> None:
    assert events_sandbox.seeded_event_ids, "the seed gives customers recent events"
    events_sandbox.made(first_customer(events_sandbox, HOLDS_EVERYTHING), "card_declined")
    in_outbox = {row[0] for row in events_sandbox.rows("SELECT event_id FROM event_outbox")}
    assert in_outbox and not in_outbox & events_sandbox.seeded_event_ids
    events = {row[0] for row in events_sandbox.rows("SELECT id FROM customer_events")}
    assert events - events_sandbox.seeded_event_ids == in_outbox
