"""Bank accounts and debit cards: balances, transfers and tracing, card controls, statements."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, constr
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError, not_found
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, step_up
from services.sandbox.idempotency import (
    IdempotencyKey,
    MoneyRequest,
    Movement,
    move_money_once,
)
from services.sandbox.models import (
    BankAccount,
    BankEntry,
    Card,
    CardDecline,
    Customer,
    Recipient,
    Transfer,
)
from services.sandbox.money import CNY_PER_UNIT, money, quantize
from services.sandbox.numbers import random_card_number
from services.sandbox.routes.common import (
    ME,
    CurrencyCode,
    DecimalString,
    debit,
    lock_accounts,
    masked_account,
    owned,
)

router = APIRouter(prefix=ME, tags=["bank"])

PER_TRANSFER_LIMIT_CNY = Decimal("50000.00")
DAILY_TRANSFER_LIMIT_CNY = Decimal("200000.00")
EXTERNAL_TRANSFER_HOURS = 2
DELIVERY_DAYS = {"standard": 5, "express": 2}
DECLINE_REASONS = {
    "insufficient_funds": "The account did not have enough money for this purchase.",
    "incorrect_pin": "The PIN entered was wrong.",
    "card_frozen": "The card was frozen at the time.",
    "foreign_usage_disabled": "The card is not enabled for use abroad.",
    "suspected_fraud": "Our fraud checks stopped it because it looked unusual.",
    "merchant_category_blocked": "This kind of merchant is blocked on the card.",
    "daily_limit": "The card's daily spending limit was reached.",
    "card_not_activated": "The card had not been activated yet.",
}


class TransferRequest(BaseModel):
    from_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    to_account_number: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    recipient_name: constr(min_length=1, max_length=128)  # type: ignore[valid-type]
    amount: DecimalString
    currency: CurrencyCode
    memo: constr(max_length=128) = ""  # type: ignore[valid-type]


class LossReport(BaseModel):
    kind: Literal["lost", "stolen"]


class ReplacementRequest(BaseModel):
    reason: Literal["lost", "stolen", "damaged", "expiring"]
    delivery: Literal["standard", "express"] = "standard"


def account_json(account: BankAccount) -> dict[str, Any]:
    return {
        "account_number": account.account_number,
        "kind": account.kind,
        "status": account.status,
        "balance": money(account.balance, account.currency),
        "opened_on": account.opened_on.isoformat(),
    }


def transfer_json(transfer: Transfer, from_number: str) -> dict[str, Any]:
    steps = [
        {"step": "submitted", "at": transfer.created_at.isoformat()},
        {"step": "debited", "at": transfer.created_at.isoformat()},
    ]
    if transfer.status in ("processing", "completed"):
        steps.append({"step": "sent_to_clearing", "at": transfer.created_at.isoformat()})
    if transfer.status == "completed":
        steps.append({"step": "credited", "at": transfer.expected_arrival.isoformat()})
    overdue = transfer.status == "processing" and transfer.expected_arrival < utcnow()
    return {
        "transfer_id": transfer.id,
        "from_account": masked_account(from_number),
        "to_account": masked_account(transfer.to_account_number),
        "recipient_name": transfer.recipient_name,
        **money(transfer.amount, transfer.currency),
        "memo": transfer.memo,
        "status": transfer.status,
        "created_at": transfer.created_at.isoformat(),
        "expected_arrival": transfer.expected_arrival.isoformat(),
        "overdue": overdue,
        "trace": steps,
        "trace_note": transfer.trace_note,
    }


def card_json(card: Card) -> dict[str, Any]:
    return {
        "card_id": card.id,
        "card_number_masked": f"**** **** **** {card.card_number[-4:]}",
        "kind": card.kind,
        "status": card.status,
        "expires": card.expires,
        "replaces_card_id": card.replaces_card_id,
        "delivery": delivery_json(card),
        "travel": {
            "regions": card.travel_regions or [],
            "until": card.travel_until.isoformat() if card.travel_until else None,
        },
    }


def delivery_json(card: Card) -> dict[str, Any] | None:
    if card.delivery_status is None:
        return None
    return {
        "status": card.delivery_status,
        "eta": card.delivery_eta.isoformat() if card.delivery_eta else None,
        "carrier": "SF Express",
        "tracking_number": f"SF{card.id[-10:]}",
    }


def cny_equivalent(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount * CNY_PER_UNIT[currency])


async def owned_card(session: AsyncSession, customer_id: str, card_ref: str) -> Card:
    """A card by its id or full number, only if it is the customer's."""
    query = select(Card).where(
        Card.customer_id == customer_id, or_(Card.id == card_ref, Card.card_number == card_ref)
    )
    card = (await session.execute(query)).scalar()
    if card is None:
        raise not_found("card")
    return card


@router.get("/accounts", summary="Bank accounts and balances")
async def list_accounts(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(BankAccount)
        .where(BankAccount.customer_id == customer.id)
        .order_by(BankAccount.opened_on)
    )
    async with get_db(request).reading() as session:
        accounts = (await session.execute(query)).scalars().all()
    return {"accounts": [account_json(a) for a in accounts]}


@router.get("/accounts/{account_number}", summary="One account")
async def get_account(
    account_number: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        account = await owned(
            session, BankAccount, customer.id, "account", account_number=account_number
        )
    return account_json(account)


@router.get("/accounts/{account_number}/statement", summary="Monthly statement")
async def get_statement(
    account_number: str,
    request: Request,
    customer: CurrentCustomer,
    # Years a statement can exist for; "0000-01" is no date at all.
    month: str | None = Query(
        None, pattern=r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM"
    ),
) -> dict[str, Any]:
    first_day = date.fromisoformat(f"{month}-01") if month else utcnow().date().replace(day=1)
    next_month = (first_day + timedelta(days=32)).replace(day=1)
    start, end = (
        datetime.combine(first_day, datetime.min.time()),
        datetime.combine(next_month, datetime.min.time()),
    )
    async with get_db(request).reading() as session:
        account = await owned(
            session, BankAccount, customer.id, "account", account_number=account_number
        )
        entries = (
            (
                await session.execute(
                    select(BankEntry)
                    .where(
                        BankEntry.account_id == account.id,
                        BankEntry.booked_at >= start,
                        BankEntry.booked_at < end,
                    )
                    .order_by(BankEntry.booked_at, BankEntry.id)
                )
            )
            .scalars()
            .all()
        )
        moved_since = (
            await session.execute(
                select(func.coalesce(func.sum(BankEntry.amount), 0)).where(
                    BankEntry.account_id == account.id, BankEntry.booked_at >= end
                )
            )
        ).scalar_one()
    closing = quantize(account.balance - Decimal(moved_since))
    opening = quantize(closing - sum((e.amount for e in entries), Decimal("0")))
    return {
        "account_number": account.account_number,
        "month": first_day.strftime("%Y-%m"),
        "opening_balance": money(opening, account.currency),
        "closing_balance": money(closing, account.currency),
        "entries": [
            {
                "entry_id": e.id,
                "booked_at": e.booked_at.isoformat(),
                "description": e.description,
                **money(e.amount, e.currency),
            }
            for e in entries
        ],
    }


@router.get("/recipients", summary="Saved transfer recipients")
async def list_recipients(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = select(Recipient).where(Recipient.customer_id == customer.id).order_by(Recipient.name)
    async with get_db(request).reading() as session:
        recipients = (await session.execute(query)).scalars().all()
    return {
        "recipients": [
            {
                "recipient_id": r.id,
                "name": r.name,
                "account_number": r.account_number,
                "bank_name": r.bank_name,
            }
            for r in recipients
        ]
    }


@router.post(
    "/transfers",
    status_code=201,
    summary="Transfer to a recipient (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def create_transfer(
    body: TransferRequest,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def transfer(session: AsyncSession) -> Movement:
        if body.from_account == body.to_account_number:
            raise ApiError(422, "same_account", "cannot transfer to the same account")
        accounts = await lock_accounts(session, body.from_account, body.to_account_number)
        source = accounts.get(body.from_account)
        if source is None or source.customer_id != customer.id:
            raise not_found("account")
        if cny_equivalent(body.amount, body.currency) > PER_TRANSFER_LIMIT_CNY:
            raise ApiError(
                422,
                "limit_exceeded",
                "above the per-transfer limit",
                limit=money(PER_TRANSFER_LIMIT_CNY, "CNY"),
            )
        now = utcnow()
        day_start = datetime.combine(now.date(), datetime.min.time())
        sent_today = (
            await session.execute(
                select(func.coalesce(func.sum(Transfer.amount), 0)).where(
                    Transfer.from_account_id == source.id,
                    Transfer.created_at >= day_start,
                    Transfer.status != "returned",
                )
            )
        ).scalar_one()
        if (
            cny_equivalent(Decimal(sent_today) + body.amount, body.currency)
            > DAILY_TRANSFER_LIMIT_CNY
        ):
            raise ApiError(
                422,
                "daily_limit_exceeded",
                "above today's transfer limit",
                limit=money(DAILY_TRANSFER_LIMIT_CNY, "CNY"),
            )
        debit(source, body.amount, body.currency)
        destination = accounts.get(body.to_account_number)
        if destination is not None and destination.currency != body.currency:
            raise ApiError(422, "currency_mismatch", "the receiving account holds another currency")
        transfer_row = Transfer(
            id=new_id("TRF"),
            customer_id=customer.id,
            from_account_id=source.id,
            to_account_number=body.to_account_number,
            recipient_name=body.recipient_name,
            amount=body.amount,
            currency=body.currency,
            memo=body.memo,
            created_at=now,
        )
        entries = [
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=source.id,
                amount=-body.amount,
                currency=body.currency,
                description=f"Transfer to {body.recipient_name}",
                booked_at=now,
            )
        ]
        if destination is not None:
            # Inside the sandbox the money lands at once; both sides are already row-locked.
            destination.balance = quantize(destination.balance + body.amount)
            transfer_row.status, transfer_row.expected_arrival = "completed", now
            transfer_row.trace_note = "Credited to the recipient's account."
            entries.append(
                BankEntry(
                    id=new_id("ENT"),
                    customer_id=destination.customer_id,
                    account_id=destination.id,
                    amount=body.amount,
                    currency=body.currency,
                    description="Incoming transfer",
                    booked_at=now,
                )
            )
        else:
            transfer_row.status = "processing"
            transfer_row.expected_arrival = now + timedelta(hours=EXTERNAL_TRANSFER_HOURS)
            transfer_row.trace_note = "Sent through the interbank clearing network."
        session.add(transfer_row)
        session.add_all(entries)
        await session.flush()
        return Movement(
            body=transfer_json(transfer_row, source.account_number),
            amount=body.amount,
            currency=body.currency,
            source=source.account_number,
            target=body.to_account_number,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="bank.transfer",
        idempotency_key=idempotency_key,
        fingerprint=body.dict(),
        amount=body.amount,
        currency=body.currency,
        source=body.from_account,
    )
    return await move_money_once(get_db(request), money_request, transfer)


@router.get("/transfers", summary="Recent transfers, newest first")
async def list_transfers(
    request: Request, customer: CurrentCustomer, limit: int = Query(20, ge=1, le=100)
) -> dict[str, Any]:
    query = (
        select(Transfer, BankAccount.account_number)
        .join(BankAccount, BankAccount.id == Transfer.from_account_id)
        .where(Transfer.customer_id == customer.id)
        .order_by(Transfer.created_at.desc(), Transfer.id)
        .limit(limit)
    )
    async with get_db(request).reading() as session:
        rows = (await session.execute(query)).all()
    return {"transfers": [transfer_json(t, number) for t, number in rows]}


@router.get("/transfers/{transfer_id}", summary="Transfer status and trace (has it arrived?)")
async def get_transfer(
    transfer_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        transfer = await owned(session, Transfer, customer.id, "transfer", id=transfer_id)
        source = await session.get(BankAccount, transfer.from_account_id)
    return transfer_json(transfer, source.account_number)


@router.get("/cards", summary="Debit cards")
async def list_cards(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = select(Card).where(Card.customer_id == customer.id).order_by(Card.issued_on, Card.id)
    async with get_db(request).reading() as session:
        cards = (await session.execute(query)).scalars().all()
    return {"cards": [card_json(c) for c in cards]}


@router.get("/cards/{card_ref}", summary="One card (by card id or full card number)")
async def get_card(card_ref: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        card = await owned_card(session, customer.id, card_ref)
    return card_json(card)


async def _change_card_status(
    request: Request,
    customer: Customer,
    card_ref: str,
    allowed_from: tuple[str, ...],
    new_status: str,
) -> dict[str, Any]:
    async with get_db(request).writing() as session:
        card = await owned_card(session, customer.id, card_ref)
        if card.status not in allowed_from:
            raise ApiError(
                409, "card_state_conflict", f"the card is {card.status}", card_status=card.status
            )
        card.status = new_status
    return card_json(card)


@router.post("/cards/{card_ref}/activate", summary="Activate a new card")
async def activate_card(
    card_ref: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    return await _change_card_status(request, customer, card_ref, ("inactive",), "active")


@router.post(
    "/cards/{card_ref}/report-lost",
    summary="Report a card lost or stolen; blocks it for good (step-up card_control)",
    dependencies=[Depends(step_up(StepUpPurpose.card_control))],
)
async def report_card_lost(
    card_ref: str, body: LossReport, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    result = await _change_card_status(
        request, customer, card_ref, ("active", "inactive", "frozen"), body.kind
    )
    return {**result, "blocked": True, "replacement_offered": True}


@router.post(
    "/cards/{card_ref}/freeze",
    summary="Freeze a card temporarily (step-up card_control)",
    dependencies=[Depends(step_up(StepUpPurpose.card_control))],
)
async def freeze_card(card_ref: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    return await _change_card_status(request, customer, card_ref, ("active",), "frozen")


@router.post(
    "/cards/{card_ref}/unfreeze",
    summary="Unfreeze a frozen card (step-up card_control)",
    dependencies=[Depends(step_up(StepUpPurpose.card_control))],
)
async def unfreeze_card(
    card_ref: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    return await _change_card_status(request, customer, card_ref, ("frozen",), "active")


@router.get(
    "/cards/{card_ref}/declines", summary="Why the card was declined: recent declines with reasons"
)
async def list_card_declines(
    card_ref: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        card = await owned_card(session, customer.id, card_ref)
        declines = (
            (
                await session.execute(
                    select(CardDecline)
                    .where(CardDecline.card_id == card.id, CardDecline.customer_id == customer.id)
                    .order_by(CardDecline.occurred_at.desc())
                    .limit(10)
                )
            )
            .scalars()
            .all()
        )
    return {
        "card_id": card.id,
        "card_status": card.status,
        "declines": [
            {
                "decline_id": d.id,
                "merchant": d.merchant,
                **money(d.amount, d.currency),
                "reason_code": d.reason_code,
                "explanation": DECLINE_REASONS.get(d.reason_code, "The card issuer declined it."),
                "occurred_at": d.occurred_at.isoformat(),
            }
            for d in declines
        ],
    }


@router.post(
    "/cards/{card_ref}/replace",
    status_code=201,
    summary="Order a replacement card (step-up card_control)",
    dependencies=[Depends(step_up(StepUpPurpose.card_control))],
)
async def replace_card(
    card_ref: str, body: ReplacementRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    today = utcnow().date()
    async with get_db(request).writing() as session:
        old = await owned_card(session, customer.id, card_ref)
        if old.status == "replaced":
            replacement = (
                await session.execute(select(Card).where(Card.replaces_card_id == old.id))
            ).scalar()
            raise ApiError(
                409,
                "already_replaced",
                "a replacement was already ordered",
                replacement_card_id=replacement.id if replacement else None,
            )
        old.status = "replaced"
        new_card = Card(
            id=new_id("CRD"),
            card_number=random_card_number(),
            customer_id=customer.id,
            account_id=old.account_id,
            kind=old.kind,
            status="inactive",
            expires=f"{(today.month):02d}/{(today.year + 5) % 100:02d}",
            delivery_status="preparing",
            delivery_eta=today + timedelta(days=DELIVERY_DAYS[body.delivery]),
            replaces_card_id=old.id,
            issued_on=today,
        )
        session.add(new_card)
    return {"replaced_card_id": old.id, "new_card": card_json(new_card)}


@router.get("/cards/{card_ref}/delivery", summary="Where the new card is")
async def get_card_delivery(
    card_ref: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        card = await owned_card(session, customer.id, card_ref)
    delivery = delivery_json(card)
    if delivery is None:
        raise ApiError(404, "no_delivery", "this card is not being delivered")
    return {"card_id": card.id, **delivery}
