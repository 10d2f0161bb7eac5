"""What the synthetic customers ask the assistant, session after session.

    .venv/bin/python -m services.sandbox.asking --customers 2000 --seed 42
    (writes .cache/proactive/histories.jsonl, or --out)

The back end (seed.py) holds each customer's present: products, states and recent events. This
module gives each of them a past and a way of asking, so the proactive model has something to
learn from and an evaluation that is not circular:

- a past of the same event kinds over the last HISTORY_DAYS, at rates that depend on what the
  customer holds (a failed wallet payment needs a wallet), the credit bill's real due dates, and
  the seeded events as the latest ones;
- each event is asked about with a chance that depends on its kind and on the customer's hidden
  responsiveness, after a delay drawn around the kind's median; the rest are ignored;
- what is asked about an event is drawn among a few related questions, not always the obvious
  one;
- unprompted sessions at the customer's own hidden rate ask from general demand, weighted by the
  products held, the segment, hidden traits (international customers ask about rates abroad)
  and a taste of their own;
- every question asked makes the same question likelier later: sometimes asked again within
  days (still not solved), and always weighted up for the unprompted sessions to come.

The same seed, customer count and reference date give the same histories; a customer's history
does not depend on how many customers are generated. Described in services/sandbox/README.md.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from common.clock import utcnow
from common.environment import PROJECT_ROOT
from services.sandbox.seed import Dataset, generate

HISTORY_DAYS = 120
# Questions that follow the present's events are still asked in the days after it.
FUTURE_DAYS = 7
# Past events stop short of the present, which the seeded events are.
PAST_EVENTS_END_DAYS = 3
DEFAULT_OUT = PROJECT_ROOT / ".cache" / "proactive" / "histories.jsonl"


@dataclass(frozen=True)
class EventAsking:
    """How customers react to one kind of back-end event."""

    ask: float  # chance a customer of average responsiveness asks about it at all
    median_delay_hours: float
    questions: dict[str, float]  # what they ask about it, by weight
    monthly_rate: float  # how often it happened in the past to a customer who can have it
    needs: str  # what the customer must hold for it to happen (see _holdings)


EVENT_ASKING: dict[str, EventAsking] = {
    "account_locked": EventAsking(
        0.85,
        0.5,
        {"security_account_locked": 0.8, "security_change_password": 0.12, "request_human": 0.08},
        0.01,
        "any",
    ),
    "payment_failed": EventAsking(
        0.6,
        3,
        {
            "payments_failed": 0.7,
            "payment_problem": 0.12,
            "payments_transaction_details": 0.1,
            "payments_balance": 0.08,
        },
        0.25,
        "wallet",
    ),
    "payment_pending": EventAsking(
        0.5,
        8,
        {"payments_pending": 0.72, "payment_problem": 0.13, "payments_transaction_details": 0.15},
        0.12,
        "wallet",
    ),
    "refund_pending": EventAsking(
        0.45, 72, {"payments_refund_missing": 0.85, "payments_history": 0.15}, 0.15, "wallet"
    ),
    "card_declined": EventAsking(
        0.55,
        2,
        {
            "bank_card_declined": 0.72,
            "bank_cards": 0.1,
            "bank_balance": 0.12,
            "intl_card_abroad": 0.06,
        },
        0.2,
        "debit_card",
    ),
    "card_in_delivery": EventAsking(
        0.35, 36, {"bank_card_delivery": 0.65, "bank_activate_card": 0.35}, 0.03, "debit_card"
    ),
    "transfer_delayed": EventAsking(
        0.6, 20, {"bank_transfer_missing": 0.8, "bank_transfer_history": 0.2}, 0.05, "cny_account"
    ),
    # Bills fall due every month (their real due dates, see _past_events), so no rate here.
    "bill_due_tomorrow": EventAsking(
        0.3,
        6,
        {"credit_repay": 0.5, "credit_bill": 0.35, "credit_instalments": 0.15},
        0.0,
        "credit_line",
    ),
    "bill_overdue": EventAsking(
        0.5,
        12,
        {"credit_late_payment": 0.45, "credit_repay": 0.4, "score_check": 0.15},
        0.03,
        "credit_line",
    ),
    "claim_in_review": EventAsking(
        0.5,
        48,
        {"insurance_claim_status": 0.75, "insurance_claim_documents": 0.25},
        0.05,
        "insurance",
    ),
    "redemption_processing": EventAsking(
        0.4, 20, {"wealth_redemption_arrival": 0.8, "wealth_orders": 0.2}, 0.15, "fund"
    ),
    "remittance_in_review": EventAsking(
        0.6,
        16,
        {"intl_remittance_status": 0.85, "request_human": 0.15},
        0.05,
        "international",
    ),
}
# The spread of delays around a kind's median (log-normal): some ask within minutes, some
# days later.
DELAY_SPREAD = 1.0

# General demand: how often a question is asked unprompted, and what the customer must hold for
# it to be asked at full weight (None: anyone). Without the holding it keeps a twentieth of its
# weight (people ask about what they do not have, too).
GENERAL_DEMAND: dict[str, tuple[float, str | None]] = {
    "payments_balance": (6, "wallet"),
    "payments_history": (5, "wallet"),
    "payments_transaction_details": (2, "wallet"),
    "payments_failed": (0.5, "wallet"),
    "payments_pending": (0.3, "wallet"),
    "payments_refund_missing": (0.5, "wallet"),
    "payments_dispute_charge": (1, "wallet"),
    "bank_balance": (6, "bank_account"),
    "bank_account_details": (2, "bank_account"),
    "bank_statement": (3, "bank_account"),
    "bank_transfer": (4, "bank_account"),
    "bank_transfer_missing": (0.3, "bank_account"),
    "bank_transfer_history": (2, "bank_account"),
    "bank_recipients": (1, "bank_account"),
    "bank_cards": (1.5, "debit_card"),
    "bank_activate_card": (0.3, "debit_card"),
    "bank_report_lost_card": (0.8, "debit_card"),
    "bank_freeze_card": (0.6, "debit_card"),
    "bank_unfreeze_card": (0.3, "debit_card"),
    "bank_card_declined": (0.4, "debit_card"),
    "bank_replace_card": (0.7, "debit_card"),
    "bank_card_delivery": (0.2, "debit_card"),
    "credit_limit": (3, "credit_line"),
    "credit_raise_limit": (2, "credit_line"),
    "credit_bill": (3, "credit_line"),
    "credit_repay": (2, "credit_line"),
    "credit_instalments": (1.5, "credit_line"),
    "credit_late_payment": (0.7, "credit_line"),
    "credit_loans": (1.5, "loan"),
    "credit_loan_eligibility": (1.5, None),
    "credit_loan_apply": (1, None),
    "credit_repayment_schedule": (1.5, "loan"),
    "credit_repay_early": (1, "loan"),
    "insurance_policies": (2, "insurance"),
    "insurance_coverage": (2, "insurance"),
    "insurance_file_claim": (1, "insurance"),
    "insurance_claim_status": (0.3, "insurance"),
    "insurance_claim_documents": (0.5, "insurance"),
    "insurance_cancel_policy": (0.5, "insurance"),
    "intl_exchange_rate": (1, None),
    "intl_send_abroad": (0.3, "international"),
    "intl_fees": (0.5, "international"),
    "intl_remittance_status": (0.2, "international"),
    "intl_card_abroad": (0.8, None),
    "intl_tax_refund": (0.5, "international"),
    "score_check": (4, None),
    "score_explain": (2, None),
    "score_improve": (2, None),
    "score_records": (1, None),
    "score_dispute": (0.4, None),
    "security_account_locked": (0.2, None),
    "security_report_fraud": (0.6, None),
    "security_change_password": (2, None),
    "wealth_balance": (3, "fund"),
    "wealth_yield": (3, "fund"),
    "wealth_deposit": (1.5, "fund"),
    "wealth_redeem": (1.5, "fund"),
    "wealth_redemption_arrival": (0.3, "fund"),
    "wealth_orders": (0.8, "fund"),
    "wealth_fund_info": (1.5, None),
    "request_human": (2, None),
    "help": (2, None),
    "complain": (0.8, None),
    "customer_overview": (1.5, None),
    "payment_problem": (1, None),
    "balance_unclear": (1, None),
}
NOT_HELD_SHARE = 0.05
# Segments lean towards some product lines (by the question's prefix).
SEGMENT_LEANINGS: dict[str, dict[str, float]] = {
    "mass": {},
    "young": {"payments": 1.6, "score": 1.4, "wealth": 0.5, "insurance": 0.6},
    "affluent": {"wealth": 2.0, "insurance": 1.5, "bank": 1.2},
    "private": {"wealth": 2.5, "insurance": 1.5, "payments": 0.6},
}
# International customers (a hidden trait: the profile does not say it) ask about abroad.
INTERNATIONAL_LEANING = 5.0
# Each customer's own taste: every question's weight is multiplied by a Gamma draw of this
# shape (mean 1; small shapes make favourites).
TASTE_SHAPE = 0.7
# Unprompted sessions a month, before the customer's own factor and the segment's.
MONTHLY_SESSIONS = 1.6
ACTIVITY_SPREAD = 0.7
SEGMENT_ACTIVITY = {"mass": 1.0, "young": 1.3, "affluent": 0.9, "private": 0.7}
RESPONSIVENESS_SPREAD = 0.35
# A question asked about an event is asked again (still not solved) with this chance, an
# unprompted one less often; the repeat comes a day or two later.
REPEAT_AFTER_EVENT = 0.25
REPEAT_UNPROMPTED = 0.12
REPEAT_MEDIAN_HOURS = 36
# Asking a question adds this share of the customer's total weight to it: past questions make
# the same question likelier in the unprompted sessions to come.
REINFORCEMENT = 0.15


def question_line(question: str) -> str:
    return question.split("_", 1)[0]


def _holdings(data: Dataset) -> dict[str, set[str]]:
    """customer id -> what they hold, in EventAsking.needs' and GENERAL_DEMAND's terms.

    The product names are the profile's (routes/customers.py PRODUCT_HOLDINGS).
    """
    held: dict[str, set[str]] = {c["id"]: {"any"} for c in data["customers"]}

    def mark(table: str, what: str, keep: Any = None) -> None:
        for row in data[table]:
            if keep is None or keep(row):
                held[row["customer_id"]].add(what)

    mark("wallets", "wallet")
    mark("bank_accounts", "bank_account")
    mark("bank_accounts", "cny_account", lambda row: row["currency"] == "CNY")
    mark("bank_accounts", "international", lambda row: row["kind"] == "foreign_currency")
    mark("cards", "debit_card", lambda row: row["status"] != "replaced")
    mark("credit_lines", "credit_line")
    mark("loans", "loan", lambda row: row["status"] == "active")
    mark("policies", "insurance", lambda row: row["status"] == "active")
    mark("fund_holdings", "fund")
    return held


PROFILE_PRODUCTS = (
    "wallet",
    "bank_account",
    "debit_card",
    "credit_line",
    "loan",
    "insurance",
    "fund",
)


class _Customer:
    """One customer's hidden traits and their simulation."""

    def __init__(self, seed: int, row: dict[str, Any], holds: set[str]) -> None:
        self.id = row["id"]
        self.rng = random.Random(f"asking:{seed}:{self.id}")
        self.holds = holds
        segment = row["segment"]
        self.activity = (
            MONTHLY_SESSIONS
            * math.exp(self.rng.gauss(0, ACTIVITY_SPREAD))
            * SEGMENT_ACTIVITY[segment]
        )
        self.responsiveness = math.exp(self.rng.gauss(0, RESPONSIVENESS_SPREAD))
        leanings = SEGMENT_LEANINGS[segment]
        self.weights: dict[str, float] = {}
        for question, (weight, needs) in GENERAL_DEMAND.items():
            line = question_line(question)
            weight *= leanings.get(line, 1.0)
            if needs is not None and needs not in holds:
                weight *= NOT_HELD_SHARE
            if line == "intl" and "international" in holds:
                weight *= INTERNATIONAL_LEANING
            self.weights[question] = weight * self.rng.gammavariate(TASTE_SHAPE, 1 / TASTE_SHAPE)

    def delay(self, median_hours: float) -> timedelta:
        return timedelta(hours=median_hours * math.exp(self.rng.gauss(0, DELAY_SPREAD)))

    def draw(self, weights: dict[str, float]) -> str:
        questions = list(weights)
        return self.rng.choices(questions, weights=[weights[q] for q in questions])[0]

    def past_events(
        self, start: datetime, end: datetime, bill_due_dates: list[date]
    ) -> list[dict[str, Any]]:
        events = []
        months = (end - start).total_seconds() / (30 * 86400)
        for kind, spec in EVENT_ASKING.items():
            if spec.needs not in self.holds or not spec.monthly_rate:
                continue
            count = _poisson(self.rng, spec.monthly_rate * months)
            for _ in range(count):
                at = start + (end - start) * self.rng.random()
                events.append({"kind": kind, "occurred_at": at})
        for due in bill_due_dates:
            at = datetime.combine(due - timedelta(days=1), time(8, 0))
            if start <= at < end:
                events.append({"kind": "bill_due_tomorrow", "occurred_at": at})
        events.sort(key=lambda e: (e["occurred_at"], e["kind"]))
        for k, event in enumerate(events):
            event["event_id"] = f"PAST{self.id[1:]}{k:03d}"
        return events

    def sessions(
        self, events: list[dict[str, Any]], start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        # (time, order, question or None for a draw from general demand, cause, event id)
        queue: list[tuple[datetime, int, str | None, str, str | None]] = []
        order = 0
        months = (end - start).total_seconds() / (30 * 86400)
        for _ in range(_poisson(self.rng, self.activity * months)):
            queue.append(
                (start + (end - start) * self.rng.random(), order, None, "unprompted", None)
            )
            order += 1
        for event in events:
            spec = EVENT_ASKING[event["kind"]]
            if self.rng.random() >= min(0.95, spec.ask * self.responsiveness):
                continue
            at = event["occurred_at"] + self.delay(spec.median_delay_hours)
            queue.append((at, order, self.draw(spec.questions), "event", event["event_id"]))
            order += 1
        heapq.heapify(queue)
        sessions = []
        while queue:
            at, _, question, cause, event_id = heapq.heappop(queue)
            if at >= end:
                break
            if at < start:
                continue
            if question is None:
                question = self.draw(self.weights)
            session: dict[str, Any] = {"opened_at": at, "question": question, "cause": cause}
            if event_id is not None:
                session["event_id"] = event_id
            sessions.append(session)
            self.weights[question] = self.weights.get(question, 0.0) + REINFORCEMENT * sum(
                self.weights.values()
            )
            repeat = REPEAT_AFTER_EVENT if cause == "event" else REPEAT_UNPROMPTED
            if self.rng.random() < repeat:
                again = at + self.delay(REPEAT_MEDIAN_HOURS)
                heapq.heappush(queue, (again, order, question, "repeat", event_id))
                order += 1
        return sessions


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def histories(data: Dataset, seed: int, reference_date: date) -> Iterator[dict[str, Any]]:
    """Each seeded customer's profile, events and sessions, oldest first."""
    now = datetime.combine(reference_date, time(9, 0))
    start = now - timedelta(days=HISTORY_DAYS)
    end = now + timedelta(days=FUTURE_DAYS)
    held = _holdings(data)
    seeded_events: dict[str, list[dict[str, Any]]] = {}
    for event in data["customer_events"]:
        seeded_events.setdefault(event["customer_id"], []).append(
            {"event_id": event["id"], "kind": event["kind"], "occurred_at": event["occurred_at"]}
        )
    bill_due_dates: dict[str, list[date]] = {}
    for bill in data["credit_bills"]:
        if bill["status"] == "paid":
            bill_due_dates.setdefault(bill["customer_id"], []).append(bill["due_date"])
    for row in data["customers"]:
        customer = _Customer(seed, row, held[row["id"]])
        past_end = now - timedelta(days=PAST_EVENTS_END_DAYS)
        events = customer.past_events(start, past_end, sorted(bill_due_dates.get(row["id"], [])))
        events += sorted(
            seeded_events.get(row["id"], []), key=lambda e: (e["occurred_at"], e["event_id"])
        )
        sessions = customer.sessions(events, start, end)
        yield {
            "customer_id": row["id"],
            "history_starts": start.isoformat(),
            "present": now.isoformat(),
            # What the back end's profile answers (GET /v1/customers/me), minus the lock, which
            # is the present's state and an event.
            "profile": {
                "segment": row["segment"],
                "preferred_language": row["preferred_language"],
                "customer_since": row["customer_since"].isoformat(),
                "products": [p for p in PROFILE_PRODUCTS if p in customer.holds],
            },
            "events": [
                {**e, "occurred_at": e["occurred_at"].isoformat(timespec="seconds")} for e in events
            ],
            "sessions": [
                {**s, "opened_at": s["opened_at"].isoformat(timespec="seconds")} for s in sessions
            ],
        }


def generate_histories(customers: int, seed: int, reference_date: date) -> list[dict[str, Any]]:
    return list(histories(generate(customers, seed, reference_date), seed, reference_date))


def write_histories(path: Path, lines: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42, help="the sandbox's seed (SANDBOX_SEED)")
    parser.add_argument(
        "--reference-date", type=date.fromisoformat, default=None, help="YYYY-MM-DD; default today"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    reference_date = args.reference_date or utcnow().date()
    lines = generate_histories(args.customers, args.seed, reference_date)
    write_histories(args.out, lines)
    sessions = sum(len(line["sessions"]) for line in lines)
    print(f"{len(lines)} customers, {sessions} sessions -> {args.out}")


if __name__ == "__main__":
    main()
