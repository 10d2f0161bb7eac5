"""Synthetic customers: deterministic, realistic, and fast enough to seed 1,000 on first start."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from services.sandbox.db import SandboxDatabase
from services.sandbox.models import Customer, SandboxMeta
from services.sandbox.seed import (
    CLAIM_IN_REVIEW_ENDINGS,
    DELAYED_TRANSFER_ENDINGS,
    LOCKED_BY_ENDING,
    PENDING_PAYMENT_ENDINGS,
    REMITTANCE_IN_REVIEW_ENDINGS,
    digest,
    generate,
    seed_if_empty,
)

REFERENCE_DATE = date(2025, 3, 14)


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    first = digest(generate(200, seed=42, reference_date=REFERENCE_DATE))
    again = digest(generate(200, seed=42, reference_date=REFERENCE_DATE))
    other = digest(generate(200, seed=43, reference_date=REFERENCE_DATE))
    assert first == again
    assert first != other


def test_customers_hold_a_plausible_mix_of_products_and_recent_events() -> None:
    data = generate(1000, seed=42, reference_date=REFERENCE_DATE)
    customers = data["customers"]
    assert len(customers) == 1000
    holders = {
        table: {row["customer_id"] for row in data[table]}
        for table in ("policies", "fund_holdings", "loans", "credit_lines", "wallets")
    }
    for table, who in holders.items():
        assert 0.1 * 1000 < len(who) < 0.95 * 1000, table
    none_of_the_three = (
        {c["id"] for c in customers}
        - holders["policies"]
        - holders["fund_holdings"]
        - holders["loans"]
    )
    assert len(none_of_the_three) > 100
    kinds = Counter(event["kind"] for event in data["customer_events"])
    for kind in (
        "payment_failed",
        "card_declined",
        "bill_due_tomorrow",
        "refund_pending",
        "claim_in_review",
    ):
        assert kinds[kind] >= 10, kind
    with_event = {event["customer_id"] for event in data["customer_events"]}
    assert len(with_event) > 400
    assert {c["preferred_language"] for c in customers} == {"zh", "en"}
    assert {a["currency"] for a in data["bank_accounts"]} >= {"CNY", "USD", "EUR", "HKD"}
    amounts = [t["amount"] for t in data["wallet_transactions"]]
    assert all(isinstance(a, Decimal) and a == a.quantize(Decimal("0.01")) for a in amounts)
    months = {t["created_at"].strftime("%Y-%m") for t in data["wallet_transactions"]}
    assert len(months) >= 6
    due_tomorrow = [b for b in data["credit_bills"] if b["due_date"] == date(2025, 3, 15)]
    assert due_tomorrow


def ending(customer_id: str) -> int:
    return int(customer_id[1:]) % 100


def test_the_states_the_flows_need_are_seeded_by_customer_number() -> None:
    data = generate(1000, seed=42, reference_date=REFERENCE_DATE)
    locked = {c["id"]: c["lock_reason"] for c in data["customers"] if c["locked"]}
    # Locked exactly by rule: 10 customers for each reason and nobody else, so any other
    # customer can verify and move money.
    assert locked == {
        c["id"]: LOCKED_BY_ENDING[ending(c["id"])]
        for c in data["customers"]
        if ending(c["id"]) in LOCKED_BY_ENDING
    }
    assert Counter(locked.values()) == {reason: 10 for reason in LOCKED_BY_ENDING.values()}
    assert all(c["locked_at"] for c in data["customers"] if c["locked"])
    events = {(e["kind"], e["customer_id"]) for e in data["customer_events"]}
    assert all(("account_locked", customer) in events for customer in locked)

    def has(table: str, column: str, value: str) -> set[str]:
        return {row["customer_id"] for row in data[table] if row[column] == value}

    states = {
        CLAIM_IN_REVIEW_ENDINGS: (has("claims", "status", "in_review"), "claim_in_review"),
        DELAYED_TRANSFER_ENDINGS: (has("transfers", "status", "processing"), "transfer_delayed"),
        PENDING_PAYMENT_ENDINGS: (
            has("wallet_transactions", "status", "pending"),
            "payment_pending",
        ),
        REMITTANCE_IN_REVIEW_ENDINGS: (
            has("remittances", "status", "compliance_review"),
            "remittance_in_review",
        ),
    }
    for endings, (holders, event) in states.items():
        by_rule = {c["id"] for c in data["customers"] if ending(c["id"]) in endings}
        assert len(by_rule) == 20, event
        assert by_rule <= holders, event
        assert all((event, customer) in events for customer in by_rule), event


def test_a_sandbox_of_forty_customers_already_holds_every_seeded_state() -> None:
    """The end-to-end suite seeds 40 customers, the API suite 60: each meets every state."""
    data = generate(40, seed=42, reference_date=REFERENCE_DATE)
    reasons = {c["id"]: c["lock_reason"] for c in data["customers"] if c["locked"]}
    assert reasons == {
        "C00031": "too_many_password_attempts",
        "C00032": "suspected_fraud",
        "C00033": "identity_documents_expired",
    }
    kinds = {(e["kind"], e["customer_id"]) for e in data["customer_events"]}
    for kind, customer in (
        ("claim_in_review", "C00024"),
        ("transfer_delayed", "C00025"),
        ("payment_pending", "C00026"),
        ("remittance_in_review", "C00027"),
    ):
        assert (kind, customer) in kinds


async def test_a_thousand_customers_seed_into_sqlite_quickly_and_only_once(tmp_path: Path) -> None:
    db = SandboxDatabase(f"sqlite+aiosqlite:///{tmp_path / 'size.db'}")
    try:
        await db.create_all()
        started = time.perf_counter()
        assert await seed_if_empty(db, customers=1000, seed=42, reference_date=REFERENCE_DATE)
        elapsed = time.perf_counter() - started
        assert not await seed_if_empty(db, customers=1000, seed=42)
        async with db.reading() as session:
            count = (await session.execute(select(func.count()).select_from(Customer))).scalar_one()
            stored = (
                await session.execute(select(SandboxMeta.value).where(SandboxMeta.key == "digest"))
            ).scalar()
    finally:
        await db.dispose()
    assert count == 1000
    assert stored == digest(generate(1000, seed=42, reference_date=REFERENCE_DATE))
    assert elapsed < 30, f"seeding 1000 customers took {elapsed:.1f}s"


async def test_a_database_made_before_a_column_was_added_is_made_and_seeded_again(
    tmp_path: Path,
) -> None:
    db = SandboxDatabase(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await db.create_all()
        assert await seed_if_empty(db, customers=5, seed=42, reference_date=REFERENCE_DATE)
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE customers DROP COLUMN time_zone")

        await db.create_all()

        assert await seed_if_empty(db, customers=5, seed=42, reference_date=REFERENCE_DATE)
        async with db.reading() as session:
            zones = set((await session.execute(select(Customer.time_zone))).scalars())
    finally:
        await db.dispose()
    assert zones == {"Asia/Shanghai"}
