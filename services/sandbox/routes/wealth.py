"""Money-market fund: balance and yesterday's yield, subscribe, redeem, when money arrives."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, constr
from sqlalchemy import func, select
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
from services.sandbox.models import BankAccount, BankEntry, FundHolding, FundOrder
from services.sandbox.money import money, quantize
from services.sandbox.routes.common import ME, DecimalString, debit, lock_own_account, owned

router = APIRouter(prefix=f"{ME}/fund", tags=["wealth"])

FUND_CODE, FUND_NAME = "000198", "Everyday Money Market Fund A"
INSTANT_REDEMPTION_DAILY_CAP = Decimal("10000.00")


class Subscription(BaseModel):
    from_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    amount: DecimalString


class Redemption(BaseModel):
    to_account: constr(regex=r"^\d{12,24}$")  # type: ignore[valid-type]
    amount: DecimalString
    speed: Literal["instant", "standard"] = "standard"


def next_business_day_morning(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10, 0))


def holding_json(holding: FundHolding) -> dict[str, Any]:
    return {
        "fund_code": holding.fund_code,
        "fund_name": holding.fund_name,
        "balance": money(holding.balance, holding.currency),
        "yesterday_yield": money(holding.yesterday_yield, holding.currency),
        "seven_day_annualised_yield": str(holding.seven_day_annualised),
        "total_yield": money(holding.total_yield, holding.currency),
    }


def order_json(order: FundOrder, account_number: str) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "kind": order.kind,
        **money(order.amount, order.currency),
        "bank_account": account_number,
        "status": order.status,
        "speed": order.speed,
        "created_at": order.created_at.isoformat(),
        "expected_arrival": order.expected_arrival.isoformat(),
    }


async def _holding(session: AsyncSession, customer_id: str) -> FundHolding | None:
    query = select(FundHolding).where(FundHolding.customer_id == customer_id).with_for_update()
    return (await session.execute(query)).scalar()


@router.get("", summary="Fund balance and yesterday's yield")
async def get_fund(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        holding = await owned(session, FundHolding, customer.id, "fund holding")
    return holding_json(holding)


@router.post(
    "/subscriptions",
    status_code=201,
    summary="Put money into the fund (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def subscribe(
    body: Subscription,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def put_in(session: AsyncSession) -> Movement:
        account = await lock_own_account(session, customer.id, body.from_account)
        debit(account, body.amount, "CNY")
        holding = await _holding(session, customer.id)
        if holding is None:
            holding = FundHolding(
                id=new_id("FH"),
                customer_id=customer.id,
                fund_code=FUND_CODE,
                fund_name=FUND_NAME,
                balance=Decimal("0.00"),
                currency="CNY",
                yesterday_yield=Decimal("0.00"),
                seven_day_annualised=Decimal("0.0185"),
                total_yield=Decimal("0.00"),
            )
            session.add(holding)
        holding.balance = quantize(holding.balance + body.amount)
        now = utcnow()
        order = FundOrder(
            id=new_id("FO"),
            customer_id=customer.id,
            holding_id=holding.id,
            kind="subscription",
            amount=body.amount,
            currency="CNY",
            bank_account_id=account.id,
            status="completed",
            speed="standard",
            created_at=now,
            expected_arrival=now,
        )
        session.add(order)
        session.add(
            BankEntry(
                id=new_id("ENT"),
                customer_id=customer.id,
                account_id=account.id,
                amount=-body.amount,
                currency="CNY",
                description=f"{FUND_NAME} subscription",
                booked_at=now,
            )
        )
        await session.flush()
        return Movement(
            body={
                **order_json(order, account.account_number),
                "earnings_start": next_business_day_morning(now).date().isoformat(),
                "holding": holding_json(holding),
            },
            amount=body.amount,
            currency="CNY",
            source=account.account_number,
            target=FUND_CODE,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="wealth.subscribe",
        idempotency_key=idempotency_key,
        fingerprint=body.dict(),
        amount=body.amount,
        currency="CNY",
        source=body.from_account,
    )
    return await move_money_once(get_db(request), money_request, put_in)


@router.post(
    "/redemptions",
    status_code=201,
    summary="Take money out of the fund (step-up move_money, Idempotency-Key)",
    dependencies=[Depends(step_up(StepUpPurpose.move_money))],
)
async def redeem(
    body: Redemption,
    request: Request,
    idempotency_key: IdempotencyKey,
    customer: CurrentCustomer,
) -> JSONResponse:
    async def take_out(session: AsyncSession) -> Movement:
        account = await lock_own_account(session, customer.id, body.to_account)
        if account.currency != "CNY":
            raise ApiError(422, "currency_mismatch", "redemptions are paid into a CNY account")
        holding = await _holding(session, customer.id)
        if holding is None or holding.balance < body.amount:
            raise ApiError(
                422, "insufficient_holding", "the fund balance is lower than this amount"
            )
        now = utcnow()
        if body.speed == "instant":
            day_start = datetime.combine(now.date(), time.min)
            instant_today = (
                await session.execute(
                    select(func.coalesce(func.sum(FundOrder.amount), 0)).where(
                        FundOrder.customer_id == customer.id,
                        FundOrder.kind == "redemption",
                        FundOrder.speed == "instant",
                        FundOrder.created_at >= day_start,
                    )
                )
            ).scalar_one()
            if Decimal(instant_today) + body.amount > INSTANT_REDEMPTION_DAILY_CAP:
                raise ApiError(
                    422,
                    "instant_cap_exceeded",
                    "above today's instant redemption cap",
                    cap=money(INSTANT_REDEMPTION_DAILY_CAP, "CNY"),
                )
        holding.balance = quantize(holding.balance - body.amount)
        order = FundOrder(
            id=new_id("FO"),
            customer_id=customer.id,
            holding_id=holding.id,
            kind="redemption",
            amount=body.amount,
            currency="CNY",
            bank_account_id=account.id,
            speed=body.speed,
            created_at=now,
            status="completed" if body.speed == "instant" else "processing",
            expected_arrival=now if body.speed == "instant" else next_business_day_morning(now),
        )
        session.add(order)
        if body.speed == "instant":
            account.balance = quantize(account.balance + body.amount)
            session.add(
                BankEntry(
                    id=new_id("ENT"),
                    customer_id=customer.id,
                    account_id=account.id,
                    amount=body.amount,
                    currency="CNY",
                    description=f"{FUND_NAME} redemption",
                    booked_at=now,
                )
            )
        await session.flush()
        return Movement(
            body={**order_json(order, account.account_number), "holding": holding_json(holding)},
            amount=body.amount,
            currency="CNY",
            source=FUND_CODE,
            target=account.account_number,
        )

    money_request = MoneyRequest(
        customer_id=customer.id,
        operation="wealth.redeem",
        idempotency_key=idempotency_key,
        fingerprint=body.dict(),
        amount=body.amount,
        currency="CNY",
        source=FUND_CODE,
    )
    return await move_money_once(get_db(request), money_request, take_out)


@router.get("/orders", summary="Fund orders, newest first")
async def list_fund_orders(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    query = (
        select(FundOrder, BankAccount.account_number)
        .join(BankAccount, BankAccount.id == FundOrder.bank_account_id)
        .where(FundOrder.customer_id == customer.id)
        .order_by(FundOrder.created_at.desc())
    )
    async with get_db(request).reading() as session:
        rows = (await session.execute(query)).all()
    return {"orders": [order_json(order, number) for order, number in rows]}


@router.get("/orders/{order_id}", summary="One order: when the redeemed money arrives")
async def get_fund_order(
    order_id: str, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        order = await owned(session, FundOrder, customer.id, "fund order", id=order_id)
        account = await session.get(BankAccount, order.bank_account_id)
    return order_json(order, account.account_number)
