"""Back-end events made at run time (sandbox only): the state behind each event, the event, and
its outbox row, in one transaction.

A real back end emits these as things happen to a customer (a payment fails, a card is
declined, a refund arrives); the sandbox makes them on request (`POST /sandbox/events`) so a
demo or a test can see the notifier react. Each kind changes what the product endpoints
answer exactly as the real thing would, and the event's `reference` is the id of the item it is
about, as the seeded events' are.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.models import (
    BankAccount,
    Card,
    CardDecline,
    CreditBill,
    CreditLine,
    Customer,
    CustomerEvent,
    EventOutbox,
    Refund,
    Wallet,
    WalletTransaction,
)
from services.sandbox.money import CENT, quantize
from services.sandbox.seed import DECLINE_CODES, FAILURE_CODES, MERCHANTS


class EventKind(str, Enum):
    payment_failed = "payment_failed"
    card_declined = "card_declined"
    bill_due_tomorrow = "bill_due_tomorrow"
    refund_arrived = "refund_arrived"
    suspicious_payment = "suspicious_payment"


# Merchants a customer of this bank would not usually pay, at amounts they would notice.
UNUSUAL_MERCHANTS = (
    ("Overseas Electronics Direct", "electronics", 1500, 9000),
    ("GlobalPay*Game Credits", "entertainment", 600, 3000),
    ("Luxury Watches HK", "shopping", 3000, 12000),
    ("Crypto Exchange Top-up", "financial_services", 1000, 8000),
)
UNUSUAL = "unusual_for_customer"
# A card that cannot pay is declined for what it is; an active one for one of the usual reasons.
DECLINE_BY_CARD_STATUS = {"frozen": "card_frozen", "inactive": "card_not_activated"}
ACTIVE_CARD_DECLINES = tuple(code for code in DECLINE_CODES if code != "card_frozen")
# A settled current bill gives way to the next one; below this much used, a purchase is made.
SMALLEST_NEW_BILL = Decimal("100.00")


class Made(NamedTuple):
    """What a kind made: the item the event is about and the event's words."""

    reference: str
    summary: str


KindMaker = Callable[[AsyncSession, Customer, datetime], Awaitable[Made]]


def product_missing(product: str) -> ApiError:
    return ApiError(
        422,
        "product_missing",
        f"the customer has no {product.replace('_', ' ')} for this event",
        product=product,
    )


def event_json(event: CustomerEvent) -> dict[str, Any]:
    """One event as `GET /v1/customers/me/events` lists it."""
    return {
        "event_id": event.id,
        "kind": event.kind,
        "reference": event.reference,
        "summary": event.summary,
        "occurred_at": event.occurred_at.isoformat(),
    }


class EventMaker:
    """Makes each kind of event for a customer inside the caller's transaction."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._kinds: dict[EventKind, KindMaker] = {
            EventKind.payment_failed: self._payment_failed,
            EventKind.card_declined: self._card_declined,
            EventKind.bill_due_tomorrow: self._bill_due_tomorrow,
            EventKind.refund_arrived: self._refund_arrived,
            EventKind.suspicious_payment: self._suspicious_payment,
        }

    async def make(
        self, session: AsyncSession, customer_id: str, kind: EventKind
    ) -> tuple[CustomerEvent, EventOutbox]:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise ApiError(404, "customer_not_found", "no such customer")
        now = utcnow()
        made = await self._kinds[kind](session, customer, now)
        event = CustomerEvent(
            id=new_id("EV"),
            customer_id=customer.id,
            kind=kind.value,
            reference=made.reference,
            summary=made.summary,
            occurred_at=now,
        )
        session.add(event)
        # The event row first: the outbox row refers to it.
        await session.flush()
        outbox = EventOutbox(
            event_id=event.id,
            customer_id=customer.id,
            kind=event.kind,
            reference=event.reference,
            occurred_at=event.occurred_at,
            created_at=now,
        )
        session.add(outbox)
        await session.flush()
        return event, outbox

    # -- helpers ----------------------------------------------------------------------------
    def amount(self, low: float, high: float) -> Decimal:
        return Decimal(self.rng.randint(int(low * 100), int(high * 100))) * CENT

    async def wallet(self, session: AsyncSession, customer: Customer) -> Wallet:
        query = select(Wallet).where(Wallet.customer_id == customer.id).with_for_update()
        wallet = (await session.execute(query)).scalar()
        if wallet is None:
            raise product_missing("wallet")
        return wallet

    def payment(
        self, wallet: Wallet, merchant: str, category: str, amount: Decimal, now: datetime
    ) -> WalletTransaction:
        return WalletTransaction(
            id=new_id("TX"),
            customer_id=wallet.customer_id,
            wallet_id=wallet.id,
            direction="debit",
            amount=amount,
            currency=wallet.currency,
            merchant=merchant,
            category=category,
            status="completed",
            failure_code=None,
            risk_flag=None,
            created_at=now,
        )

    # -- the kinds --------------------------------------------------------------------------
    async def _payment_failed(
        self, session: AsyncSession, customer: Customer, now: datetime
    ) -> Made:
        wallet = await self.wallet(session, customer)
        merchant, category, low, high = self.rng.choice(MERCHANTS)
        tx = self.payment(wallet, merchant, category, self.amount(low, high), now)
        tx.status = "failed"
        # A payment above the balance fails for that; otherwise for one of the other reasons.
        tx.failure_code = (
            "insufficient_balance"
            if tx.amount > wallet.balance
            else self.rng.choice([c for c in FAILURE_CODES if c != "insufficient_balance"])
        )
        session.add(tx)
        return Made(tx.id, f"Payment of {tx.amount} {tx.currency} to {merchant} failed")

    async def _suspicious_payment(
        self, session: AsyncSession, customer: Customer, now: datetime
    ) -> Made:
        wallet = await self.wallet(session, customer)
        merchant, category, low, high = self.rng.choice(UNUSUAL_MERCHANTS)
        tx = self.payment(wallet, merchant, category, self.amount(low, high), now)
        tx.risk_flag = UNUSUAL
        # It went through: the money left the wallet (a payment above the balance was charged
        # to the linked bank card, which the sandbox does not model).
        if wallet.balance >= tx.amount:
            wallet.balance = quantize(wallet.balance - tx.amount)
        session.add(tx)
        return Made(tx.id, f"Unusual payment of {tx.amount} {tx.currency} to {merchant}")

    async def _card_declined(
        self, session: AsyncSession, customer: Customer, now: datetime
    ) -> Made:
        query = select(Card).where(
            Card.customer_id == customer.id,
            Card.kind == "debit",
            Card.status.in_(("active", *DECLINE_BY_CARD_STATUS)),
        )
        cards = (await session.execute(query.order_by(Card.issued_on, Card.id))).scalars().all()
        if not cards:
            raise product_missing("debit_card")
        active = [card for card in cards if card.status == "active"]
        card = active[0] if active else cards[0]
        merchant, _, low, high = self.rng.choice(MERCHANTS)
        reason = DECLINE_BY_CARD_STATUS.get(card.status) or self.rng.choice(ACTIVE_CARD_DECLINES)
        account = await session.get(BankAccount, card.account_id)
        session.add(
            CardDecline(
                id=new_id("CDD"),
                customer_id=customer.id,
                card_id=card.id,
                merchant=merchant,
                amount=self.amount(low, high),
                currency=account.currency if account else customer.home_currency,
                reason_code=reason,
                occurred_at=now,
            )
        )
        return Made(card.id, f"Card ending {card.card_number[-4:]} declined at {merchant}")

    async def _bill_due_tomorrow(
        self, session: AsyncSession, customer: Customer, now: datetime
    ) -> Made:
        query = select(CreditLine).where(CreditLine.customer_id == customer.id).with_for_update()
        line = (await session.execute(query)).scalar()
        if line is None:
            raise product_missing("credit_line")
        tomorrow = now.date() + timedelta(days=1)
        current = (
            await session.execute(
                select(CreditBill)
                .where(CreditBill.customer_id == customer.id)
                .order_by(CreditBill.due_date.desc(), CreditBill.id.desc())
                .with_for_update()
            )
        ).scalar()
        if (
            current is not None
            and current.status in ("open", "overdue")
            and current.amount_due > current.paid
        ):
            current.due_date = tomorrow
            current.status = "open"
            remaining = current.amount_due - current.paid
            return Made(current.id, self._bill_summary(remaining, current.currency))
        if current is not None and current.due_date >= tomorrow:
            # Settled before it was due: the next statement cannot be due before it.
            raise ApiError(
                422,
                "nothing_due",
                "the customer's current credit bill is already settled",
                bill_id=current.id,
            )
        # The last bill is settled and past (or there is none): the next statement is issued,
        # of what is used on the line, or of a purchase made on it when nothing is.
        if line.used < SMALLEST_NEW_BILL:
            purchase = min(self.amount(100, 3000), line.credit_limit - line.used)
            line.used = quantize(line.used + max(purchase, Decimal("0.00")))
        amount = line.used
        bill = CreditBill(
            id=new_id("CB"),
            customer_id=customer.id,
            credit_line_id=line.id,
            period=(tomorrow - timedelta(days=20)).strftime("%Y-%m"),
            amount_due=amount,
            minimum_due=quantize(amount / 10),
            paid=Decimal("0.00"),
            currency=line.currency,
            due_date=tomorrow,
            status="open",
        )
        session.add(bill)
        return Made(bill.id, self._bill_summary(amount, line.currency))

    @staticmethod
    def _bill_summary(amount: Decimal, currency: str) -> str:
        return f"Credit bill of {amount} {currency} is due tomorrow"

    async def _refund_arrived(
        self, session: AsyncSession, customer: Customer, now: datetime
    ) -> Made:
        wallet = await self.wallet(session, customer)
        pending = (
            await session.execute(
                select(Refund)
                .where(Refund.customer_id == customer.id, Refund.status == "pending")
                .order_by(Refund.requested_at, Refund.id)
                .with_for_update()
            )
        ).scalar()
        if pending is not None:
            refund = pending
            tx = await session.get(WalletTransaction, refund.transaction_id)
        else:
            refund, tx = await self._new_refund(session, wallet, now)
        refund.status = "completed"
        refund.completed_at = now
        if refund.currency == wallet.currency:
            wallet.balance = quantize(wallet.balance + refund.amount)
        merchant = tx.merchant if tx is not None else "the merchant"
        summary = f"Refund of {refund.amount} {refund.currency} from {merchant} arrived"
        return Made(refund.id, summary)

    async def _new_refund(
        self, session: AsyncSession, wallet: Wallet, now: datetime
    ) -> tuple[Refund, WalletTransaction]:
        """A refund of the customer's newest completed payment not refunded yet."""
        refunded = select(Refund.transaction_id).where(Refund.customer_id == wallet.customer_id)
        tx = (
            await session.execute(
                select(WalletTransaction)
                .where(
                    WalletTransaction.customer_id == wallet.customer_id,
                    WalletTransaction.direction == "debit",
                    WalletTransaction.status == "completed",
                    WalletTransaction.id.not_in(refunded),
                )
                .order_by(WalletTransaction.created_at.desc(), WalletTransaction.id)
                .with_for_update()
            )
        ).scalar()
        if tx is None:
            raise ApiError(422, "nothing_to_refund", "the customer has no payment to refund")
        tx.status = "refunded"
        refund = Refund(
            id=new_id("RF"),
            customer_id=wallet.customer_id,
            transaction_id=tx.id,
            amount=tx.amount,
            currency=tx.currency,
            status="pending",
            requested_at=max(tx.created_at, now - timedelta(days=3)),
            expected_by=now.date(),
            completed_at=None,
        )
        session.add(refund)
        return refund, tx
