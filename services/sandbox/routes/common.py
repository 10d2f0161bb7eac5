"""Pieces every product router shares: ownership-checked lookups, money input, paging."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError, not_found
from services.sandbox.models import BankAccount
from services.sandbox.money import AMOUNT_PATTERN, parse_amount, parse_currency, quantize

ME = "/v1/customers/me"
Row = TypeVar("Row")


class DecimalString(Decimal):
    """A money amount that must arrive as a JSON string, never a binary float."""

    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], Decimal]]:
        yield cls.validate

    @classmethod
    def validate(cls, value: Any) -> Decimal:
        amount = parse_amount(value)
        if amount <= 0:
            raise ValueError("amount must be positive")
        return amount

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", pattern=f"^{AMOUNT_PATTERN.pattern}$", example="100.00")


class CurrencyCode(str):
    @classmethod
    def __get_validators__(cls) -> Iterator[Callable[[Any], str]]:
        yield parse_currency

    @classmethod
    def __modify_schema__(cls, schema: dict[str, Any]) -> None:
        schema.update(type="string", example="CNY", description="ISO 4217 code")


async def owned(
    session: AsyncSession,
    model: type[Row],
    customer_id: str,
    what: str,
    *,
    lock: bool = False,
    **keys: Any,
) -> Row:
    """Load one row by its keys, only if it belongs to the customer; 404 otherwise."""
    query = select(model).where(model.customer_id == customer_id)  # type: ignore[attr-defined]
    for column, value in keys.items():
        query = query.where(getattr(model, column) == value)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar()
    if row is None:
        raise not_found(what)
    return row


async def lock_accounts(session: AsyncSession, *account_numbers: str) -> dict[str, BankAccount]:
    """Row-lock the accounts in a fixed order so two opposite transfers cannot deadlock."""
    query = (
        select(BankAccount)
        .where(BankAccount.account_number.in_(account_numbers))
        .order_by(BankAccount.account_number)
        .with_for_update()
    )
    rows = (await session.execute(query)).scalars().all()
    return {row.account_number: row for row in rows}


async def lock_own_account(
    session: AsyncSession, customer_id: str, account_number: str
) -> BankAccount:
    account = (await lock_accounts(session, account_number)).get(account_number)
    if account is None or account.customer_id != customer_id:
        raise not_found("account")
    return account


def debit(account: BankAccount, amount: Decimal, currency: str) -> None:
    if account.status != "active":
        raise ApiError(
            422, "account_not_active", "the account cannot be debited", status=account.status
        )
    if account.currency != currency:
        raise ApiError(
            422,
            "currency_mismatch",
            f"the account holds {account.currency}",
            account_currency=account.currency,
        )
    if account.balance < amount:
        raise ApiError(422, "insufficient_funds", "the account balance is too low for this amount")
    account.balance = quantize(account.balance - amount)


# Far past any customer's history, and small enough for every database's OFFSET.
MAX_PAGE = 100_000


def page_params(
    page: int = Query(1, ge=1, le=MAX_PAGE), page_size: int = Query(20, ge=1, le=100)
) -> tuple[int, int]:
    return page, page_size


Paging = Annotated[tuple[int, int], Depends(page_params)]


def masked_account(number: str) -> str:
    return f"****{number[-4:]}"
