"""The customer's profile and recent events (what they are probably about to ask about)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from services.sandbox.auth import CurrentCustomer, get_db
from services.sandbox.models import (
    BankAccount,
    Card,
    CreditLine,
    CustomerEvent,
    FundHolding,
    Loan,
    Policy,
    Wallet,
)
from services.sandbox.routes.common import ME

router = APIRouter(prefix=ME, tags=["customers"])

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
    }


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
    return {
        "events": [
            {
                "event_id": e.id,
                "kind": e.kind,
                "reference": e.reference,
                "summary": e.summary,
                "occurred_at": e.occurred_at.isoformat(),
            }
            for e in events
        ]
    }
