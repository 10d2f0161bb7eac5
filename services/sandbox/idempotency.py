"""Exactly-once money movement: idempotency keys, stored responses and the audit trail.

A money-moving request runs in one transaction that first claims its idempotency key. A second
request with the same key either finds the stored response or, when both race, loses on the
unique constraint and then replays the winner's response. Rejections (insufficient funds, limits)
are stored too, so a retry gets the same answer instead of a second attempt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Header
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.api_errors import ApiError
from common.clock import utcnow
from services.sandbox.db import SandboxDatabase
from services.sandbox.models import AuditRecord, IdempotencyRecord

ACTOR = "action-server"
MAX_KEY_RACES = 3


@dataclass
class Movement:
    """What a money-moving operation did: the response, and what the audit trail must say."""

    body: dict[str, Any]
    amount: Decimal
    currency: str
    source: str | None
    target: str | None
    status: int = 201
    detail: str = field(default="")


class _Rejected(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class MoneyRequest:
    customer_id: str
    operation: str
    idempotency_key: str
    fingerprint: dict[str, Any]
    amount: Decimal | None = None
    currency: str | None = None
    source: str | None = None


async def idempotency_key_header(
    idempotency_key: str | None = Header(
        None, description="Unique per intended money movement; retries reuse it"
    ),
) -> str:
    if not idempotency_key or not 8 <= len(idempotency_key) <= 128:
        raise ApiError(
            400, "idempotency_key_required", "Idempotency-Key header (8-128 chars) is required"
        )
    return idempotency_key


async def move_money_once(
    db: SandboxDatabase,
    request: MoneyRequest,
    operation: Callable[[AsyncSession], Awaitable[Movement]],
) -> JSONResponse:
    request_hash = _hash(request.operation, request.fingerprint)
    async with db.write_serialised():
        for _ in range(MAX_KEY_RACES):
            try:
                return await _attempt(db, request, request_hash, operation)
            except IntegrityError:
                # Another request with this key committed first; the next pass replays it.
                continue
    raise ApiError(409, "idempotency_conflict", "the request is being processed, retry shortly")


async def _attempt(
    db: SandboxDatabase,
    request: MoneyRequest,
    request_hash: str,
    operation: Callable[[AsyncSession], Awaitable[Movement]],
) -> JSONResponse:
    try:
        async with db.session() as session, session.begin():
            stored = await _stored(session, request)
            if stored is not None:
                return _replay(stored, request_hash)
            record = _claim(request, request_hash)
            session.add(record)
            await session.flush()
            try:
                movement = await operation(session)
            except ApiError as rejection:
                raise _Rejected(rejection) from rejection
            record.response_status = movement.status
            record.response_body = movement.body
            session.add(_audit(request, movement=movement))
        return JSONResponse(movement.body, status_code=movement.status)
    except _Rejected as rejected:
        # Nothing moved (the transaction rolled back); remember the answer for retries.
        rejection = rejected.error
        async with db.session() as session, session.begin():
            record = _claim(request, request_hash)
            record.response_status = rejection.status
            record.response_body = rejection.body()
            session.add(record)
            session.add(_audit(request, rejection=rejection))
        raise rejection from None


async def _stored(session: AsyncSession, request: MoneyRequest) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.customer_id == request.customer_id,
        IdempotencyRecord.key == request.idempotency_key,
    )
    return (await session.execute(query)).scalar()


def _replay(stored: IdempotencyRecord, request_hash: str) -> JSONResponse:
    if stored.request_hash != request_hash:
        raise ApiError(
            409, "idempotency_key_reused", "this Idempotency-Key was used for a different request"
        )
    return JSONResponse(
        stored.response_body,
        status_code=stored.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def _claim(request: MoneyRequest, request_hash: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        customer_id=request.customer_id,
        key=request.idempotency_key,
        operation=request.operation,
        request_hash=request_hash,
        created_at=utcnow(),
    )


def _audit(
    request: MoneyRequest,
    *,
    movement: Movement | None = None,
    rejection: ApiError | None = None,
) -> AuditRecord:
    if movement is not None:
        return AuditRecord(
            customer_id=request.customer_id,
            actor=ACTOR,
            operation=request.operation,
            amount=movement.amount,
            currency=movement.currency,
            source=movement.source,
            target=movement.target,
            idempotency_key=request.idempotency_key,
            outcome="succeeded",
            detail=movement.detail,
            created_at=utcnow(),
        )
    assert rejection is not None
    return AuditRecord(
        customer_id=request.customer_id,
        actor=ACTOR,
        operation=request.operation,
        amount=request.amount,
        currency=request.currency,
        source=request.source,
        idempotency_key=request.idempotency_key,
        outcome="rejected",
        detail=rejection.code,
        created_at=utcnow(),
    )


def _hash(operation: str, fingerprint: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"operation": operation, "request": fingerprint}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


IdempotencyKey = Annotated[str, Depends(idempotency_key_header)]
