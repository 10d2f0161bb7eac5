"""International: rates, fees, sending money abroad and its status, card abroad, tax refunds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, conlist, constr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError
from common.clock import new_id, utcnow
from services.sandbox.auth import CurrentCustomer, StepUpPurpose, get_db, step_up
from services.sandbox.idempotency import (
    IdempotencyKey,
    MoneyRequest,
    Movement,
    move_money_once,
)
from services.sandbox.models import BankEntry, Customer, Remittance, TaxRefund
from services.sandbox.money import (
    CNY_PER_UNIT,
    SUPPORTED_CURRENCIES,
    convert,
    customer_rate,
    money,
    parse_currency,
    quantize,
)
from services.sandbox.routes.bank import card_json, owned_card
from services.sandbox.routes.common import (
    ME,
    CurrencyCode,
    DecimalString,
    debit,
    lock_own_account,
    owned,
)

router = APIRouter(prefix=ME, tags=["international"])

FIXED_FEE_CNY = Decimal("50.00")
PERCENT_FEE = Decimal("0.001")
FEE_FREE_SEGMENTS = ("private",)
COMPLIANCE_REVIEW_ABOVE_CNY = Decimal("50000.00")
MAX_TRAVEL_DAYS = 180


class RemittanceQuoteRequest(BaseModel):
    send_amount: DecimalString
    send_currency: CurrencyCode
    receive_currency: CurrencyCode


class RemittanceRequest(RemittanceQuoteRequest):
    from_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    beneficiary_name: constr(min_length=1, max_length=128)  # type: ignore[valid-type]
    beneficiary_country: constr(regex=r"^[A-Z]{2}$")  # type: ignore[valid-type]
    beneficiary_account: constr(regex=r"^[A-Z0-9]{8,34}$")  # type: ignore[valid-type]


class TravelUsageRequest(BaseModel):
    regions: conlist(constr(regex=r"^[A-Z]{2}$"), min_items=1, max_items=20)  # type: ignore[valid-type]
    until: date


def quote(
    customer: Customer, send_amount: Decimal, send_currency: str, receive_currency: str
) -> dict[str, Any]:
    if send_currency == receive_currency:
        raise ApiError(422, "same_currency", "choose a different receiving currency")
    fee = Decimal("0.00")
    if customer.segment not in FEE_FREE_SEGMENTS:
        fee = quantize(FIXED_FEE_CNY / CNY_PER_UNIT[send_currency] + send_amount * PERCENT_FEE)
    return {
        "rate": customer_rate(send_currency, receive_currency),
        "fee": fee,
        "receive_amount": convert(send_amount, send_currency, receive_currency),
        "total_debit": send_amount + fee,
    }


def remittance_json(remittance: Remittance) -> dict[str, Any]:
    return {
        "remittance_id": remittance.id,
        "beneficiary_name": remittance.beneficiary_name,
        "beneficiary_country": remittance.beneficiary_country,
        "send": money(remittance.send_amount, remittance.send_currency),
        "receive": money(remittance.receive_amount, remittance.receive_currency),
        "rate": str(remittance.rate),
        "fee": money(remittance.fee, remittance.send_currency),
        "status": remittance.status,
        "created_at": remittance.created_at.isoformat(),
        "expected_arrival": remittance.expected_arrival.isoformat(),
    }


@router.get("/fx/rates", summary="Exchange rates the customer gets")
async def get_rates(
    _: CurrentCustomer,
    base: str = Query("CNY", description="Currency the customer sells"),
) -> dict[str, Any]:
    try:
        base = parse_currency(base)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    return {
        "base": base,
        "as_of": utcnow().replace(microsecond=0).isoformat(),
        "rates": {
            code: str(customer_rate(base, code)) for code in SUPPORTED_CURRENCIES if code != base
        },
    }


@router.post("/remittance-quotes", summary="Fees and rate for sending money abroad")
async def quote_remittance(
    body: RemittanceQuoteRequest, customer: CurrentCustomer
) -> dict[str, Any]:
    parts = quote(customer, body.send_amount, body.send_currency, body.receive_currency)
    return {
        "send": money(body.send_amount, body.send_currency),
        "receive": money(parts["receive_amount"], body.receive_currency),
        "rate": str(parts["rate"]),
        "fee": money(parts["fee"], body.send_currency),
        "total_debit": money(parts["total_debit"], body.send_currency),
        "arrives_within_business_days": 2,
    }


@router.post(
    "/remittances",
    status_code=201,
    summary="Send money abroad (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def send_remittance(
    body: RemittanceRequest,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def send(session: AsyncSession) -> Movement:
        account = await lock_own_account(session, customer.id, body.from_account)
        parts = quote(customer, body.send_amount, body.send_currency, body.receive_currency)
        debit(account, parts["total_debit"], body.send_currency)
        now = utcnow()
        needs_review = (
            quantize(body.send_amount * CNY_PER_UNIT[body.send_currency])
            > COMPLIANCE_REVIEW_ABOVE_CNY
        )
        remittance = Remittance(
            id=new_id("RMT"),
            customer_id=customer.id,
            from_account_id=account.id,
            beneficiary_name=body.beneficiary_name,
            beneficiary_country=body.beneficiary_country,
            beneficiary_account=body.beneficiary_account,
            send_amount=body.send_amount,
            send_currency=body.send_currency,
            receive_amount=parts["receive_amount"],
            receive_currency=body.receive_currency,
            rate=parts["rate"],
            fee=parts["fee"],
            status="compliance_review" if needs_review else "submitted",
            created_at=now,
            expected_arrival=now + timedelta(days=4 if needs_review else 2),
        )
        session.add(remittance)
        session.add(
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=account.id,
                amount=-parts["total_debit"],
                currency=body.send_currency,
                description=f"Remittance to {body.beneficiary_name}",
                booked_at=now,
            )
        )
        await session.flush()
        return Movement(
            body=remittance_json(remittance),
            amount=parts["total_debit"],
            currency=body.send_currency,
            source=account.account_number,
            target=body.beneficiary_account,
            detail=f"fx {body.send_currency}->{body.receive_currency} at {parts['rate']}",
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="international.remittance",
        idempotency_key=idempotency_key,
        fingerprint=body.dict(),
        amount=body.send_amount,
        currency=body.send_currency,
        source=body.from_account,
    )
    return await move_money_once(get_db(request), money_request, send)


@router.get("/remittances", summary="Money sent abroad, newest first")
async def list_remittances(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(Remittance)
        .where(Remittance.customer_id == customer.id)
        .order_by(Remittance.created_at.desc())
    )
    async with get_db(request).reading() as session:
        remittances = (await session.execute(query)).scalars().all()
    return {"remittances": [remittance_json(r) for r in remittances]}


@router.get("/remittances/{remittance_id}", summary="Remittance status")
async def get_remittance(
    remittance_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        remittance = await owned(session, Remittance, customer.id, "remittance", id=remittance_id)
    return remittance_json(remittance)


@router.post("/cards/{card_ref}/travel-usage", summary="Enable a card for use abroad")
async def enable_travel_usage(
    card_ref: str, body: TravelUsageRequest, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    today = utcnow().date()
    if not today <= body.until <= today + timedelta(days=MAX_TRAVEL_DAYS):
        raise ApiError(
            422, "invalid_travel_period", f"the end date must be within {MAX_TRAVEL_DAYS} days"
        )
    async with get_db(request).writing() as session:
        card = await owned_card(session, customer.id, card_ref)
        if card.status != "active":
            raise ApiError(
                409, "card_state_conflict", f"the card is {card.status}", card_status=card.status
            )
        card.travel_regions, card.travel_until = sorted(set(body.regions)), body.until
    return card_json(card)


@router.get("/tax-refunds", summary="Tax refunds for shopping abroad")
async def list_tax_refunds(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(TaxRefund)
        .where(TaxRefund.customer_id == customer.id)
        .order_by(TaxRefund.submitted_on.desc())
    )
    async with get_db(request).reading() as session:
        refunds = (await session.execute(query)).scalars().all()
    return {"tax_refunds": [_tax_refund_json(r) for r in refunds]}


@router.get("/tax-refunds/{tax_refund_id}", summary="Tax refund status")
async def get_tax_refund(
    tax_refund_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        refund = await owned(session, TaxRefund, customer.id, "tax refund", id=tax_refund_id)
    return _tax_refund_json(refund)


def _tax_refund_json(refund: TaxRefund) -> dict[str, Any]:
    return {
        "tax_refund_id": refund.id,
        "country": refund.country,
        "merchant": refund.merchant,
        **money(refund.amount, refund.currency),
        "status": refund.status,
        "submitted_on": refund.submitted_on.isoformat(),
        "expected_by": refund.expected_by.isoformat(),
    }
