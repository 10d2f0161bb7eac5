"""The customer's profile, notification preferences and recent events (what they are probably
about to ask about)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, StrictBool, constr, root_validator
from sqlalchemy import func, select

from services.sandbox.auth import CurrentCustomer, get_db
from services.sandbox.events import event_json
from services.sandbox.models import (
    BankAccount,
    Card,
    CreditLine,
    Customer,
    CustomerEvent,
    FundHolding,
    Loan,
    Policy,
    Wallet,
)
from services.sandbox.routes.common import ME, owned

router = APIRouter(prefix=ME, tags=["customers"])

ClockTime = constr(regex=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class QuietHours(BaseModel):
    """No notices from ``start`` up to ``end`` on the customer's clock; may cross midnight."""

    start: ClockTime  # type: ignore[valid-type]
    end: ClockTime  # type: ignore[valid-type]

    @root_validator(skip_on_failure=True)
    def not_empty(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values["start"] == values["end"]:
            raise ValueError("quiet hours start and end at the same time")
        return values


class NotificationPreferences(BaseModel):
    consent: StrictBool
    # Required but nullable: a PUT says what the customer wants, null being no quiet hours.
    quiet_hours: QuietHours | None = Field(...)


def notifications_json(customer: Customer) -> dict[str, Any]:
    quiet_hours = (
        {"start": customer.quiet_hours_start, "end": customer.quiet_hours_end}
        if customer.quiet_hours_start and customer.quiet_hours_end
        else None
    )
    return {"consent": customer.notify_consent, "quiet_hours": quiet_hours}


# Product name -> (model, extra condition) whose rows mean the customer holds that product.
PRODUCT_HOLDINGS: dict[str, tuple[Any, Any]] = {
    "wallet": (Wallet, None),
    "bank_account": (BankAccount, None),
    "debit_card": (Card, Card.status != "replaced"),
    "credit_line": (CreditLine, None),
    "loan": (Loan, Loan.status == "active"),
    "insurance": (Policy, Policy.status == "active"),
    "fund": (FundHolding, None),
}


@router.get("", summary="Profile: name, language, segment, products held")
async def get_profile(request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    products: list[str] = []
    async with get_db(request).reading() as session:
        for product, (model, condition) in PRODUCT_HOLDINGS.items():
            query = select(func.count()).select_from(model).where(model.customer_id == customer.id)
            if condition is not None:
                query = query.where(condition)
            if (await session.execute(query)).scalar_one():
                products.append(product)
    return {
        "customer_id": customer.id,
        "name": customer.full_name,
        "preferred_language": customer.preferred_language,
        "segment": customer.segment,
        "home_currency": customer.home_currency,
        "time_zone": customer.time_zone,
        "customer_since": customer.customer_since.isoformat(),
        "phone": customer.phone_masked,
        "products": products,
        "account_locked": customer.locked,
        "notifications": notifications_json(customer),
    }


@router.put(
    "/notifications",
    summary="Whether the customer may be messaged first, and their quiet hours (own clock)",
)
async def put_notifications(
    body: NotificationPreferences, request: Request, customer: CurrentCustomer
) -> dict[str, Any]:
    async with get_db(request).writing() as session:
        row = await session.get(Customer, customer.id, with_for_update=True)
        row.notify_consent = body.consent
        row.quiet_hours_start = body.quiet_hours.start if body.quiet_hours else None
        row.quiet_hours_end = body.quiet_hours.end if body.quiet_hours else None
    return notifications_json(row)


@router.get("/events", summary="Recent events, newest first")
async def list_events(
    request: Request,
    customer: CurrentCustomer,
    limit: int = Query(10, ge=1, le=50),
) -> dict[str, Any]:
    query = (
        select(CustomerEvent)
        .where(CustomerEvent.customer_id == customer.id)
        .order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id)
        .limit(limit)
    )
    async with get_db(request).reading() as session:
        events = (await session.execute(query)).scalars().all()
    return {"events": [event_json(e) for e in events]}


@router.get("/events/{event_id}", summary="One event")
async def get_event(event_id: str, request: Request, customer: CurrentCustomer) -> dict[str, Any]:
    async with get_db(request).reading() as session:
        event = await owned(session, CustomerEvent, customer.id, "event", id=event_id)
    return event_json(event)
