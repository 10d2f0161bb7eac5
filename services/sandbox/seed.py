"""Deterministic synthetic customers: `python -m services.sandbox.seed --customers 1000 --seed 42`.

The same seed, customer count and reference date always give the same rows (ids included).
Dates are relative to the reference date, by default today's UTC date at seeding time, so recent
events ("bill due tomorrow") make sense in a demo; tests pass a fixed reference date.

The states the flows are about (a locked account, a claim in review, a delayed transfer...) are
given by the customer's number, not by chance (SEEDED_STATES, services/sandbox/README.md), so a
test finds them by rule in a sandbox of any size from 40 customers up.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from common.clock import utcnow
from common.environment import process_environment
from services.sandbox.config import Settings
from services.sandbox.db import SandboxDatabase
from services.sandbox.models import Base, Customer, SandboxMeta
from services.sandbox.money import CENT, quantize
from services.sandbox.numbers import luhn_complete
from services.sandbox.routes.insurance import CLAIM_NEXT_STEPS

Dataset = dict[str, list[dict[str, Any]]]
INSERT_CHUNK = 5000
# The company serves the Chinese market: its customers' clocks are on Beijing time.
HOME_TIME_ZONE = "Asia/Shanghai"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉晨宇浩然子涵"
    "欣怡梓轩思雨俊杰雅婷嘉琪文博一诺子墨佳怡若曦"
)
INTERNATIONAL_FIRST = [
    "James",
    "Maria",
    "David",
    "Sophie",
    "Ahmed",
    "Yuki",
    "Carlos",
    "Anna",
    "Liam",
    "Priya",
    "Lucas",
    "Emma",
    "Noah",
    "Olga",
    "Hiroshi",
    "Fatima",
    "Daniel",
    "Chloe",
    "Mateo",
    "Aisha",
]
INTERNATIONAL_LAST = [
    "Smith",
    "Garcia",
    "Müller",
    "Tanaka",
    "Kim",
    "Rossi",
    "Dubois",
    "Novak",
    "Silva",
    "Patel",
    "Johnson",
    "Nguyen",
    "Kowalski",
    "Andersen",
    "O'Brien",
    "Haddad",
    "Lee",
    "Martin",
    "Sato",
    "Brown",
]
SEGMENTS = (("mass", 58), ("young", 22), ("affluent", 15), ("private", 5))
BALANCE_RANGE = {
    "mass": (200, 30000),
    "young": (50, 8000),
    "affluent": (20000, 300000),
    "private": (200000, 2000000),
}
CREDIT_LIMITS = {
    "mass": (5000, 30000),
    "young": (2000, 10000),
    "affluent": (30000, 100000),
    "private": (100000, 300000),
}
MERCHANTS = [
    ("Meituan Waimai", "food_delivery", 18, 120),
    ("Ele.me", "food_delivery", 15, 90),
    ("Luckin Coffee", "coffee", 9, 40),
    ("Starbucks", "coffee", 28, 70),
    ("JD.com", "online_shopping", 30, 3000),
    ("Taobao", "online_shopping", 10, 1500),
    ("Pinduoduo", "online_shopping", 5, 400),
    ("Didi Chuxing", "transport", 12, 150),
    ("China Railway 12306", "transport", 50, 900),
    ("State Grid Electricity", "utilities", 60, 400),
    ("China Mobile", "telecom", 30, 200),
    ("Hema Fresh", "groceries", 40, 500),
    ("Walmart", "groceries", 50, 800),
    ("Wanda Cinema", "entertainment", 35, 180),
    ("Ctrip", "travel", 300, 6000),
    ("Haidilao", "dining", 150, 800),
    ("Watsons", "health_beauty", 30, 400),
    ("Apple Store", "electronics", 200, 12000),
]
FAILURE_CODES = (
    "insufficient_balance",
    "bank_declined",
    "risk_control",
    "merchant_timeout",
    "daily_limit_exceeded",
)
PENDING_CODES = ("merchant_confirmation", "bank_processing")
DECLINE_CODES = (
    "insufficient_funds",
    "incorrect_pin",
    "foreign_usage_disabled",
    "suspected_fraud",
    "merchant_category_blocked",
    "daily_limit",
    "card_frozen",
)
OTHER_BANKS = (
    "Industrial and Commercial Bank of China",
    "China Construction Bank",
    "Bank of China",
    "Agricultural Bank of China",
    "China Merchants Bank",
    "Bank of Communications",
)
POLICY_CATALOGUE = [
    (
        "health",
        "Health Plus Medical",
        [("inpatient", "1000000.00"), ("outpatient", "20000.00")],
        (800, 3000),
    ),
    (
        "critical_illness",
        "Critical Illness Care",
        [("critical_illness_lump_sum", "300000.00")],
        (2000, 8000),
    ),
    (
        "accident",
        "Personal Accident Shield",
        [("accidental_death", "500000.00"), ("accident_medical", "50000.00")],
        (100, 600),
    ),
    (
        "travel",
        "Global Travel Protect",
        [
            ("medical_abroad", "500000.00"),
            ("trip_cancellation", "10000.00"),
            ("baggage", "5000.00"),
        ],
        (200, 900),
    ),
    (
        "home",
        "Home Property Cover",
        [("building", "1000000.00"), ("contents", "100000.00")],
        (300, 1500),
    ),
]
# By the last two digits of the customer number (C00031, C00131...): locked for that reason,
# and no other customer is locked.
LOCKED_BY_ENDING = {
    31: "too_many_password_attempts",
    32: "suspected_fraud",
    33: "identity_documents_expired",
}
# By the last two digits: customers who always have the state. Others may have it too, by chance,
# except a locked account. Endings below 30 reach every sampled customer range of the suite;
# locks sit above 30 so the C00001-C00030 samples can still verify and move money.
CLAIM_IN_REVIEW_ENDINGS = (24, 74)
DELAYED_TRANSFER_ENDINGS = (25, 75)
PENDING_PAYMENT_ENDINGS = (26, 76)
REMITTANCE_IN_REVIEW_ENDINGS = (27, 77)
SEEDED_STATES = {
    **{f"locked:{reason}": (ending,) for ending, reason in LOCKED_BY_ENDING.items()},
    "claim_in_review": CLAIM_IN_REVIEW_ENDINGS,
    "transfer_delayed": DELAYED_TRANSFER_ENDINGS,
    "payment_pending": PENDING_PAYMENT_ENDINGS,
    "remittance_in_review": REMITTANCE_IN_REVIEW_ENDINGS,
}
FOREIGN_CURRENCIES = ("USD", "EUR", "HKD")
REMITTANCE_DESTINATIONS = (
    ("US", "USD"),
    ("GB", "GBP"),
    ("DE", "EUR"),
    ("HK", "HKD"),
    ("AU", "AUD"),
    ("SG", "SGD"),
)
TAX_REFUND_PLACES = (
    ("FR", "Galeries Lafayette", "EUR"),
    ("JP", "Bic Camera", "JPY"),
    ("GB", "Harrods", "GBP"),
    ("KR", "Lotte Duty Free", "USD"),
    ("IT", "La Rinascente", "EUR"),
)


# Who may be messaged first, and when not (HH:MM on the customer's clock). The demo customers
# newcomers sign in as consent, with a short night, so a daytime demo shows notices.
DEMO_CUSTOMERS = range(1, 11)
DEMO_QUIET_HOURS = ("23:00", "07:00")
USUAL_QUIET_HOURS = ("22:00", "08:00")
OTHER_QUIET_HOURS = (
    ("21:00", "07:00"),
    ("23:00", "07:00"),
    ("22:30", "07:30"),
    ("00:00", "06:00"),
)


def notification_preferences(seed: int, index: int) -> dict[str, Any]:
    """Consent and quiet hours, drawn from a generator of their own (seed and customer), so
    adding them changed none of the data the main generator has always given."""
    if index in DEMO_CUSTOMERS:
        start, end = DEMO_QUIET_HOURS
        return {"notify_consent": True, "quiet_hours_start": start, "quiet_hours_end": end}
    rng = random.Random(f"notifications:{seed}:{index}")
    consent = rng.random() < 0.85
    roll = rng.random()
    if roll < 0.70:
        window: tuple[str, str] | None = USUAL_QUIET_HOURS
    elif roll < 0.85:
        window = None
    else:
        window = rng.choice(OTHER_QUIET_HOURS)
    return {
        "notify_consent": consent,
        "quiet_hours_start": window[0] if window else None,
        "quiet_hours_end": window[1] if window else None,
    }


class _Generator:
    def __init__(self, seed: int, reference_date: date) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.today = reference_date
        self.now = datetime.combine(reference_date, time(9, 0))
        self.rows: Dataset = {table.name: [] for table in Base.metadata.sorted_tables}

    # -- small helpers -------------------------------------------------------------------------
    def add(self, table: str, **row: Any) -> dict[str, Any]:
        self.rows[table].append(row)
        return row

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def amount(self, low: float | int, high: float | int) -> Decimal:
        return Decimal(self.rng.randint(int(low * 100), int(high * 100))) * CENT

    def moment(self, max_days_ago: float, min_days_ago: float = 0) -> datetime:
        seconds = self.rng.randint(int(min_days_ago * 86400), int(max_days_ago * 86400))
        return self.now - timedelta(seconds=seconds)

    def digits(self, count: int) -> str:
        return "".join(str(self.rng.randint(0, 9)) for _ in range(count))

    def card_expiry(self) -> str:
        return f"{self.rng.randint(1, 12):02d}/{(self.today.year + self.rng.randint(1, 5)) % 100}"

    def international_name(self) -> str:
        return f"{self.rng.choice(INTERNATIONAL_FIRST)} {self.rng.choice(INTERNATIONAL_LAST)}"

    def event(self, cid: str, kind: str, reference: str, summary: str, at: datetime) -> None:
        self.add(
            "customer_events",
            id=f"EV{cid[1:]}{kind[:3].upper()}{reference[-6:]}",
            customer_id=cid,
            kind=kind,
            reference=reference,
            summary=summary,
            occurred_at=at,
        )

    # -- one customer ----------------------------------------------------------------------------
    def customer(self, index: int) -> None:
        cid = f"C{index:05d}"
        ending = index % 100
        remittance_in_review = ending in REMITTANCE_IN_REVIEW_ENDINGS
        international = self.chance(0.15) or remittance_in_review
        if international and self.chance(0.7):
            name = self.international_name()
            language = "en" if self.chance(0.85) else "zh"
        else:
            name = self.rng.choice(SURNAMES) + "".join(
                self.rng.choice(GIVEN_CHARS) for _ in range(self.rng.choice((1, 2)))
            )
            language = "zh" if self.chance(0.95) else "en"
        segment = self.rng.choices([s for s, _ in SEGMENTS], weights=[w for _, w in SEGMENTS])[0]
        # This draw once decided the lock at random; it stays so that every customer before the
        # first one with a seeded state keeps the data this seed has always given them.
        self.rng.random()
        lock_reason = LOCKED_BY_ENDING.get(ending)
        locked = lock_reason is not None
        self.add(
            "customers",
            id=cid,
            full_name=name,
            preferred_language=language,
            segment=segment,
            phone_masked=f"+86 1{self.rng.randint(30, 99)}****{self.digits(4)}",
            email=f"customer{index:05d}@example.com",
            device_id=f"DEV-{index:05d}",
            home_currency="CNY",
            time_zone=HOME_TIME_ZONE,
            customer_since=self.today - timedelta(days=self.rng.randint(60, 3650)),
            locked=locked,
            lock_reason=lock_reason,
            locked_at=self.moment(1) if locked else None,
            password_changed_at=self.moment(400, 10),
            **notification_preferences(self.seed, index),
        )
        if locked:
            self.event(
                cid,
                "account_locked",
                cid,
                f"Account locked: {lock_reason.replace('_', ' ')}",
                self.moment(1),
            )
        accounts = self.bank(cid, index, segment, international)
        if self.chance(0.92) or ending in PENDING_PAYMENT_ENDINGS:
            self.wallet(cid, index, segment)
        late_payments = self.credit(cid, index, segment, accounts) if self.chance(0.6) else 0
        score = self.score(cid, index, segment, late_payments)
        if score >= 600 and self.chance(0.2):
            self.loan(cid, index, accounts)
        if self.chance(0.4) or ending in CLAIM_IN_REVIEW_ENDINGS:
            self.insurance(cid, index)
        if self.chance(0.45):
            self.fund(cid, index, segment, accounts)
        if international:
            self.international(cid, index, accounts)

    def wallet(self, cid: str, index: int, segment: str) -> None:
        wallet_id = f"W{index:05d}"
        low, high = BALANCE_RANGE[segment]
        self.add(
            "wallets",
            id=wallet_id,
            customer_id=cid,
            balance=self.amount(0, high / 10),
            currency="CNY",
        )
        count = self.rng.randint(15, 45)
        transactions = []
        for k in range(count):
            merchant, category, low_amt, high_amt = self.rng.choice(MERCHANTS)
            transactions.append(
                self.add(
                    "wallet_transactions",
                    id=f"TX{index:05d}{k:03d}",
                    customer_id=cid,
                    wallet_id=wallet_id,
                    direction="debit",
                    amount=self.amount(low_amt, high_amt),
                    currency="CNY",
                    merchant=merchant,
                    category=category,
                    status="completed",
                    failure_code=None,
                    created_at=self.moment(180, 3),
                )
            )
        if self.chance(0.18):
            tx = transactions[0]
            tx.update(
                status="failed",
                failure_code=self.rng.choice(FAILURE_CODES),
                created_at=self.moment(2),
            )
            self.event(
                cid,
                "payment_failed",
                tx["id"],
                f"Payment of {tx['amount']} CNY to {tx['merchant']} failed",
                tx["created_at"],
            )
        if self.chance(0.08) or index % 100 in PENDING_PAYMENT_ENDINGS:
            tx = transactions[1]
            tx.update(
                status="pending",
                failure_code=self.rng.choice(PENDING_CODES),
                created_at=self.moment(1),
            )
            self.event(
                cid,
                "payment_pending",
                tx["id"],
                f"Payment to {tx['merchant']} is still pending",
                tx["created_at"],
            )
        if self.chance(0.12):
            tx = transactions[2]
            tx.update(status="refunded", created_at=self.moment(12, 6))
            requested = tx["created_at"] + timedelta(days=1)
            refund_id = f"RF{index:05d}"
            self.add(
                "refunds",
                id=refund_id,
                customer_id=cid,
                transaction_id=tx["id"],
                amount=tx["amount"],
                currency="CNY",
                status="pending",
                requested_at=requested,
                expected_by=self.today + timedelta(days=self.rng.randint(0, 4)),
                completed_at=None,
            )
            self.event(
                cid,
                "refund_pending",
                refund_id,
                f"Refund of {tx['amount']} CNY from {tx['merchant']} pending",
                requested,
            )

    def bank(self, cid: str, index: int, segment: str, international: bool) -> list[dict[str, Any]]:
        low, high = BALANCE_RANGE[segment]
        # A delayed transfer leaves from a CNY account.
        delayed_transfer = index % 100 in DELAYED_TRANSFER_ENDINGS
        kinds = [("savings", "CNY")] if self.chance(0.96) or delayed_transfer else []
        if kinds and self.chance(0.3):
            kinds.append(("current", "CNY"))
        if international:
            kinds.append(("foreign_currency", self.rng.choice(FOREIGN_CURRENCIES)))
        accounts = []
        for k, (kind, currency) in enumerate(kinds):
            number = luhn_complete(f"6222{index:05d}{k:02d}{self.digits(4)}")
            account = self.add(
                "bank_accounts",
                id=f"BA{index:05d}{k:02d}",
                account_number=number,
                customer_id=cid,
                kind=kind,
                currency=currency,
                balance=self.amount(low, high),
                status="active",
                opened_on=self.today - timedelta(days=self.rng.randint(90, 3000)),
            )
            accounts.append(account)
            for e in range(self.rng.randint(6, 16)):
                salary = e % 4 == 0
                self.add(
                    "bank_entries",
                    id=f"BE{index:05d}{k:02d}{e:03d}",
                    customer_id=cid,
                    account_id=account["id"],
                    amount=self.amount(3000, 20000) if salary else -self.amount(20, 2000),
                    currency=currency,
                    description="Salary" if salary else self.rng.choice(MERCHANTS)[0],
                    booked_at=self.moment(180, 1),
                )
            if currency == "CNY":
                self.card(cid, index, k, account)
        for r in range(self.rng.randint(1, 4) if accounts else 0):
            self.add(
                "recipients",
                id=f"RC{index:05d}{r:02d}",
                customer_id=cid,
                name=self.rng.choice(SURNAMES)
                + self.rng.choice(GIVEN_CHARS)
                + self.rng.choice(GIVEN_CHARS),
                account_number=luhn_complete("6228" + self.digits(15)),
                bank_name=self.rng.choice(OTHER_BANKS),
            )
        if accounts and accounts[0]["currency"] == "CNY":
            self.transfers(cid, index, accounts[0], delayed_transfer)
        return accounts

    def card(self, cid: str, index: int, k: int, account: dict[str, Any]) -> None:
        card_id = f"CD{index:05d}{k:02d}"
        roll = self.rng.random()
        status, delivery, eta = "active", None, None
        if roll < 0.04:
            status, delivery, eta = "inactive", "delivered", self.today - timedelta(days=2)
        elif roll < 0.07:
            status, delivery, eta = (
                "inactive",
                "shipped",
                self.today + timedelta(days=self.rng.randint(1, 3)),
            )
        elif roll < 0.10:
            status = "frozen"
        issued = self.today - timedelta(days=self.rng.randint(5 if delivery else 100, 1500))
        card_number = luhn_complete(f"6217{index:05d}{k:02d}{self.digits(4)}")
        self.add(
            "cards",
            id=card_id,
            card_number=card_number,
            customer_id=cid,
            account_id=account["id"],
            kind="debit",
            status=status,
            expires=self.card_expiry(),
            delivery_status=delivery,
            delivery_eta=eta,
            replaces_card_id=None,
            travel_regions=None,
            travel_until=None,
            issued_on=issued,
        )
        if delivery == "shipped":
            self.event(
                cid,
                "card_in_delivery",
                card_id,
                f"New card arrives by {eta.isoformat()}",
                self.moment(2),
            )
        if status == "active" and self.chance(0.15):
            for d in range(self.rng.randint(1, 3)):
                merchant, _, low_amt, high_amt = self.rng.choice(MERCHANTS)
                at = self.moment(3)
                self.add(
                    "card_declines",
                    id=f"CDD{index:05d}{k:02d}{d}",
                    customer_id=cid,
                    card_id=card_id,
                    merchant=merchant,
                    amount=self.amount(low_amt, high_amt),
                    currency="CNY",
                    reason_code=self.rng.choice(DECLINE_CODES),
                    occurred_at=at,
                )
            self.event(
                cid,
                "card_declined",
                card_id,
                f"Card ending {card_number[-4:]} declined at {merchant}",
                at,
            )

    def transfers(self, cid: str, index: int, account: dict[str, Any], delayed: bool) -> None:
        for t in range(self.rng.randint(0, 3)):
            created = self.moment(90, 3)
            self.add(
                "transfers",
                id=f"TR{index:05d}{t:02d}",
                customer_id=cid,
                from_account_id=account["id"],
                to_account_number=luhn_complete("6228" + self.digits(15)),
                recipient_name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_CHARS),
                amount=self.amount(100, 5000),
                currency="CNY",
                memo="",
                status="completed",
                trace_note="Credited to the recipient's account.",
                created_at=created,
                expected_arrival=created + timedelta(hours=2),
            )
        if self.chance(0.06) or delayed:
            created = self.moment(2.5, 1.5)
            transfer_id = f"TR{index:05d}99"
            self.add(
                "transfers",
                id=transfer_id,
                customer_id=cid,
                from_account_id=account["id"],
                to_account_number=luhn_complete("6228" + self.digits(15)),
                recipient_name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN_CHARS),
                amount=self.amount(500, 20000),
                currency="CNY",
                memo="rent",
                status="processing",
                trace_note="Held by the receiving bank for a name check; usually cleared in 1 day.",
                created_at=created,
                expected_arrival=created + timedelta(hours=2),
            )
            self.event(
                cid, "transfer_delayed", transfer_id, "A transfer has not arrived yet", created
            )

    def credit(self, cid: str, index: int, segment: str, accounts: list[dict[str, Any]]) -> int:
        line_id = f"CL{index:05d}"
        low, high = CREDIT_LIMITS[segment]
        limit = Decimal(self.rng.randint(low // 1000, high // 1000) * 1000).quantize(CENT)
        current = quantize(limit * Decimal(self.rng.randint(5, 85)) / 100)
        roll = self.rng.random()
        if roll < 0.12:
            due, status = self.today + timedelta(days=1), "open"
        elif roll < 0.15:
            due, status = self.today - timedelta(days=3), "overdue"
        else:
            due, status = self.today + timedelta(days=self.rng.randint(2, 25)), "open"
        self.add(
            "credit_lines",
            id=line_id,
            customer_id=cid,
            credit_limit=limit,
            used=current,
            currency="CNY",
            annual_rate=Decimal("0.1825"),
            statement_day=min(due.day, 28),
        )
        late = 0
        for m in range(6, 0, -1):
            past_due = due - timedelta(days=30 * m)
            amount_due = self.amount(200, float(limit) * 0.6)
            paid_late = self.chance(0.05)
            late += paid_late
            self.add(
                "credit_bills",
                id=f"CB{index:05d}{m:02d}",
                customer_id=cid,
                credit_line_id=line_id,
                period=(past_due - timedelta(days=20)).strftime("%Y-%m"),
                amount_due=amount_due,
                minimum_due=quantize(amount_due / 10),
                paid=amount_due,
                currency="CNY",
                due_date=past_due,
                status="paid",
            )
        bill_id = f"CB{index:05d}00"
        self.add(
            "credit_bills",
            id=bill_id,
            customer_id=cid,
            credit_line_id=line_id,
            period=(due - timedelta(days=20)).strftime("%Y-%m"),
            amount_due=current,
            minimum_due=quantize(current / 10),
            paid=Decimal("0.00"),
            currency="CNY",
            due_date=due,
            status=status,
        )
        if due == self.today + timedelta(days=1):
            self.event(
                cid,
                "bill_due_tomorrow",
                bill_id,
                f"Credit bill of {current} CNY is due tomorrow",
                self.now - timedelta(hours=1),
            )
        elif status == "overdue":
            late += 1
            self.event(
                cid,
                "bill_overdue",
                bill_id,
                f"Credit bill of {current} CNY is 3 days overdue",
                self.now - timedelta(hours=2),
            )
        return late

    def score(self, cid: str, index: int, segment: str, late_payments: int) -> int:
        base = {"mass": 640, "young": 600, "affluent": 700, "private": 740}[segment]
        inquiries = self.rng.randint(0, 4)
        utilisation = self.rng.randint(1, 5)
        score = max(
            350, min(950, base + self.rng.randint(-80, 120) - 45 * late_payments - 8 * inquiries)
        )
        band = (
            "poor"
            if score < 550
            else "fair"
            if score < 600
            else "good"
            if score < 650
            else "very_good"
            if score < 700
            else "excellent"
        )
        factors = [
            {
                "factor": "payment_history",
                "rating": max(1, 5 - 2 * late_payments),
                "detail": f"{late_payments} late payments in the last 24 months",
            },
            {
                "factor": "credit_utilisation",
                "rating": utilisation,
                "detail": "share of your credit limits in use",
            },
            {
                "factor": "credit_age",
                "rating": self.rng.randint(2, 5),
                "detail": "age of your oldest account",
            },
            {
                "factor": "recent_inquiries",
                "rating": max(1, 5 - inquiries),
                "detail": f"{inquiries} credit applications in the last 6 months",
            },
            {
                "factor": "identity_completeness",
                "rating": self.rng.randint(3, 5),
                "detail": "profile and ID checks",
            },
        ]
        self.add(
            "credit_scores",
            customer_id=cid,
            score=score,
            band=band,
            factors=factors,
            updated_on=self.today - timedelta(days=self.rng.randint(0, 20)),
        )
        records = [("late_payment", "Credit card payment 30 days late")] * late_payments
        records += [("hard_inquiry", "Loan application inquiry")] * min(inquiries, 2)
        for r, (kind, description) in enumerate(records):
            self.add(
                "score_records",
                id=f"SR{index:05d}{r:02d}",
                customer_id=cid,
                kind=kind,
                description=description,
                reported_on=self.today - timedelta(days=self.rng.randint(20, 600)),
                status="reported",
            )
        return score

    def loan(self, cid: str, index: int, accounts: list[dict[str, Any]]) -> None:
        term = self.rng.choice((12, 24, 36))
        made = self.rng.randint(1, term - 1)
        principal = Decimal(self.rng.randint(10, 100) * 1000).quantize(CENT)
        self.add(
            "loans",
            id=f"LN{index:05d}",
            customer_id=cid,
            principal=principal,
            outstanding=quantize(principal * (term - made) / term),
            currency="CNY",
            annual_rate=self.rng.choice((Decimal("0.0720"), Decimal("0.1080"), Decimal("0.1440"))),
            term_months=term,
            payments_made=made,
            start_date=self.today - timedelta(days=30 * made + 5),
            status="active",
            disbursed_to_account_id=accounts[0]["id"] if accounts else None,
        )

    def insurance(self, cid: str, index: int) -> None:
        products = self.rng.sample(POLICY_CATALOGUE, self.rng.randint(1, 3))
        for k, (product, product_name, coverage, premium_range) in enumerate(products):
            policy_id = f"POL{index:05d}{k:02d}"
            start = self.today - timedelta(days=self.rng.randint(30, 330))
            sum_insured = max(Decimal(limit) for _, limit in coverage)
            self.add(
                "policies",
                id=policy_id,
                customer_id=cid,
                product=product,
                product_name=product_name,
                coverage=[
                    {"item": item, "limit": limit, "currency": "CNY"} for item, limit in coverage
                ],
                sum_insured=sum_insured,
                annual_premium=self.amount(*premium_range),
                currency="CNY",
                status="active",
                start_date=start,
                end_date=start + timedelta(days=365),
                cancelled_at=None,
            )
            in_review = index % 100 in CLAIM_IN_REVIEW_ENDINGS
            if k == 0 and (self.chance(0.3) or in_review):
                status = (
                    "in_review"
                    if in_review
                    else self.rng.choice(
                        (
                            "in_review",
                            "in_review",
                            "more_info_needed",
                            "approved",
                            "paid",
                            "rejected",
                        )
                    )
                )
                claim_id = f"CLM{index:05d}{k:02d}"
                submitted = self.moment(20, 4)
                updated = self.moment(3) if status == "in_review" else submitted + timedelta(days=2)
                self.add(
                    "claims",
                    id=claim_id,
                    customer_id=cid,
                    policy_id=policy_id,
                    incident_date=(submitted - timedelta(days=self.rng.randint(1, 10))).date(),
                    description="Hospital visit after an injury",
                    amount_claimed=self.amount(500, 20000),
                    currency="CNY",
                    status=status,
                    next_step=CLAIM_NEXT_STEPS[status],
                    submitted_at=submitted,
                    updated_at=updated,
                )
                if status in ("in_review", "more_info_needed"):
                    self.event(
                        cid,
                        "claim_in_review",
                        claim_id,
                        f"Claim on {product_name} is {status.replace('_', ' ')}",
                        updated,
                    )

    def fund(self, cid: str, index: int, segment: str, accounts: list[dict[str, Any]]) -> None:
        low, high = BALANCE_RANGE[segment]
        balance = self.amount(low, high)
        rate = Decimal(self.rng.randint(150, 210)) / Decimal(10000)
        holding_id = f"FH{index:05d}"
        self.add(
            "fund_holdings",
            id=holding_id,
            customer_id=cid,
            fund_code="000198",
            fund_name="Everyday Money Market Fund A",
            balance=balance,
            currency="CNY",
            yesterday_yield=quantize(balance * rate / 365),
            seven_day_annualised=rate,
            total_yield=quantize(balance * rate * self.rng.randint(30, 700) / 365),
        )
        cny_accounts = [a for a in accounts if a["currency"] == "CNY"]
        if cny_accounts and self.chance(0.2):
            created = self.moment(1)
            order_id = f"FO{index:05d}"
            arrival = datetime.combine(
                self.today
                + timedelta(days=1 if self.today.weekday() < 4 else 7 - self.today.weekday()),
                time(10, 0),
            )
            self.add(
                "fund_orders",
                id=order_id,
                customer_id=cid,
                holding_id=holding_id,
                kind="redemption",
                amount=self.amount(1000, min(high, 50000)),
                currency="CNY",
                bank_account_id=cny_accounts[0]["id"],
                status="processing",
                speed="standard",
                created_at=created,
                expected_arrival=arrival,
            )
            self.event(
                cid,
                "redemption_processing",
                order_id,
                f"Fund redemption arrives {arrival.date().isoformat()}",
                created,
            )

    def international(self, cid: str, index: int, accounts: list[dict[str, Any]]) -> None:
        in_review = index % 100 in REMITTANCE_IN_REVIEW_ENDINGS
        if accounts and (self.chance(0.5) or in_review):
            for r in range(self.rng.randint(1, 2)):
                country, currency = self.rng.choice(REMITTANCE_DESTINATIONS)
                send = self.amount(1000, 30000)
                status = (
                    "compliance_review"
                    if r == 0 and (self.chance(0.3) or in_review)
                    else self.rng.choice(("sent", "credited"))
                )
                created = self.moment(2) if status == "compliance_review" else self.moment(120, 5)
                remittance_id = f"RM{index:05d}{r:02d}"
                rate = (
                    Decimal("7.1850")
                    / {
                        "USD": Decimal("1"),
                        "GBP": Decimal("0.7875"),
                        "EUR": Decimal("0.9197"),
                        "HKD": Decimal("7.8013"),
                        "AUD": Decimal("1.5236"),
                        "SGD": Decimal("1.3423"),
                    }[currency]
                )
                self.add(
                    "remittances",
                    id=remittance_id,
                    customer_id=cid,
                    from_account_id=accounts[0]["id"],
                    beneficiary_name=self.international_name(),
                    beneficiary_country=country,
                    beneficiary_account=f"{country}{self.digits(20)}",
                    send_amount=send,
                    send_currency="CNY",
                    receive_amount=quantize(send / rate),
                    receive_currency=currency,
                    rate=(1 / rate).quantize(Decimal("0.000001")),
                    fee=quantize(Decimal("50") + send / 1000),
                    status=status,
                    created_at=created,
                    expected_arrival=created
                    + timedelta(days=4 if status == "compliance_review" else 2),
                )
                if status == "compliance_review":
                    self.event(
                        cid,
                        "remittance_in_review",
                        remittance_id,
                        f"Money sent to {country} is in a compliance check",
                        created,
                    )
        for t in range(self.rng.randint(0, 2)):
            country, merchant, currency = self.rng.choice(TAX_REFUND_PLACES)
            submitted = self.today - timedelta(days=self.rng.randint(5, 60))
            self.add(
                "tax_refunds",
                id=f"TXR{index:05d}{t:02d}",
                customer_id=cid,
                country=country,
                merchant=merchant,
                amount=self.amount(20, 600),
                currency=currency,
                status=self.rng.choice(("submitted", "approved", "paid")),
                submitted_on=submitted,
                expected_by=submitted + timedelta(days=45),
            )


def generate(customers: int, seed: int, reference_date: date) -> Dataset:
    generator = _Generator(seed, reference_date)
    for index in range(1, customers + 1):
        generator.customer(index)
    return generator.rows


def digest(dataset: Dataset) -> str:
    canonical = json.dumps(dataset, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def write(db: SandboxDatabase, dataset: Dataset, meta: dict[str, str]) -> None:
    async with db.writing() as session:
        conn = await session.connection()
        for table in Base.metadata.sorted_tables:
            rows = dataset.get(table.name) or []
            for start in range(0, len(rows), INSERT_CHUNK):
                await conn.execute(table.insert(), rows[start : start + INSERT_CHUNK])
        for key, value in meta.items():
            await conn.execute(SandboxMeta.__table__.insert(), [{"key": key, "value": value}])


async def seed_if_empty(
    db: SandboxDatabase, *, customers: int, seed: int, reference_date: date | None = None
) -> bool:
    async with db.reading() as session:
        existing = (await session.execute(select(func.count()).select_from(Customer))).scalar_one()
    if existing:
        return False
    reference_date = reference_date or utcnow().date()
    dataset = generate(customers, seed, reference_date)
    await write(
        db,
        dataset,
        {
            "seed": str(seed),
            "customers": str(customers),
            "reference_date": reference_date.isoformat(),
            "digest": digest(dataset),
        },
    )
    return True


async def _main(args: argparse.Namespace) -> None:
    db = SandboxDatabase(args.database_url)
    try:
        if args.reset:
            async with db.engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
        await db.create_all()
        seeded = await seed_if_empty(
            db, customers=args.customers, seed=args.seed, reference_date=args.reference_date
        )
        print("seeded" if seeded else "database already has customers; use --reset to re-seed")
    finally:
        await db.dispose()


def main() -> None:
    settings = Settings.from_environment(process_environment())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=settings.customers)
    parser.add_argument("--seed", type=int, default=settings.seed)
    parser.add_argument("--database-url", default=settings.database_url)
    parser.add_argument(
        "--reference-date", type=date.fromisoformat, default=None, help="YYYY-MM-DD; default today"
    )
    parser.add_argument("--reset", action="store_true", help="drop all sandbox tables first")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
