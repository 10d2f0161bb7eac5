"""Simultaneous transfers from one account never overdraw it, move money once per idempotency
key and never deadlock (real HTTP, real database, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx

from tests.sandbox.conftest import RunningSandbox, as_money

ME = "/v1/customers/me"
TRANSFERS = 50


def set_balance(sandbox: RunningSandbox, account: str, amount: Decimal) -> None:
    stored = int(amount * 100) if sandbox.backend == "sqlite" else amount
    sandbox.execute(
        "UPDATE bank_accounts SET balance = :b WHERE account_number = :n", b=stored, n=account
    )


def transfers_from(sandbox: RunningSandbox, account: str) -> int:
    return sandbox.scalar(
        "SELECT count(*) FROM transfers t JOIN bank_accounts a ON a.id = t.from_account_id"
        " WHERE a.account_number = :n",
        n=account,
    )


def two_cny_accounts_of_different_customers(sandbox: RunningSandbox) -> list[tuple[str, str]]:
    rows = sandbox.rows(
        "SELECT a.customer_id, a.account_number FROM bank_accounts a JOIN customers c"
        " ON c.id = a.customer_id WHERE a.currency = 'CNY' AND NOT c.locked"
        " ORDER BY a.account_number DESC"
    )
    first = rows[0]
    second = next(row for row in rows if row[0] != first[0])
    return [(first[0], first[1]), (second[0], second[1])]


async def test_fifty_simultaneous_transfers_never_overdraw_and_conserve_money(
    sandbox: RunningSandbox,
) -> None:
    """Fifty transfers of 30.00 from an account holding 900.00, each sent twice at once with
    its idempotency key (a client retrying while the first is in flight), while the customer
    keeps reading the balance: exactly thirty go through, once each, and the balance never
    goes below zero. On SQLite this holds only because the sandbox serialises money movements
    (common/database.py) and on PostgreSQL because of the row locks: without them, requests
    that read the same balance all pass the funds check."""
    (payer, source), (_, destination) = two_cny_accounts_of_different_customers(sandbox)
    set_balance(sandbox, source, Decimal("900.00"))
    destination_before = sandbox.balance(destination)
    transfers_before = transfers_from(sandbox, source)
    # A step-up token authorises one transfer (and its retries): each of the fifty has its own.
    tokens = [sandbox.step_up_token(payer, "move_money") for _ in range(TRANSFERS)]
    run = uuid.uuid4().hex[:8]
    body = {
        "from_account": source,
        "to_account_number": destination,
        "recipient_name": "Wang Fang",
        "amount": "30.00",
        "currency": "CNY",
    }
    seen_balances: list[Decimal] = []
    sending = True

    async def watch(http: httpx.AsyncClient) -> None:
        while sending:
            accounts = (await http.get(f"{ME}/accounts")).json()["accounts"]
            mine = next(a for a in accounts if a["account_number"] == source)
            seen_balances.append(Decimal(mine["balance"]["amount"]))

    async with sandbox.async_client(payer) as http:
        watcher = asyncio.create_task(watch(http))
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{ME}/transfers",
                    json=body,
                    headers={
                        "Idempotency-Key": f"c-{run}-{n:02d}",
                        "X-Verification-Token": tokens[n],
                    },
                )
                for n in range(TRANSFERS)
                for _ in range(2)
            )
        )
        sending = False
        await watcher

    by_key: dict[int, list[httpx.Response]] = {}
    for index, response in enumerate(responses):
        by_key.setdefault(index // 2, []).append(response)
    for n, (first, second) in by_key.items():
        # Both copies of a request get the same answer: one ran, the other replayed it.
        assert first.status_code == second.status_code, n
        assert first.json() == second.json(), n
    succeeded = [pair[0] for pair in by_key.values() if pair[0].status_code == 201]
    refused = [pair[0] for pair in by_key.values() if pair[0].status_code == 422]
    assert len(succeeded) == 30 and len(refused) == 20, [r.status_code for r in responses]
    assert {r.json()["error"]["code"] for r in refused} == {"insufficient_funds"}
    assert len({r.json()["transfer_id"] for r in succeeded}) == 30
    assert sandbox.balance(source) == Decimal("0.00")
    assert seen_balances and min(seen_balances) >= 0
    assert sandbox.balance(destination) == destination_before + Decimal("900.00")
    assert transfers_from(sandbox, source) == transfers_before + 30
    audit = sandbox.rows(
        "SELECT outcome, amount FROM audit_records WHERE idempotency_key LIKE :k", k=f"c-{run}-%"
    )
    assert sorted(a.outcome for a in audit) == ["rejected"] * 20 + ["succeeded"] * 30
    moved = sum(as_money(sandbox.backend, a.amount) for a in audit if a.outcome == "succeeded")
    assert moved == Decimal("900.00")


async def test_transfers_in_both_directions_at_once_do_not_deadlock(
    sandbox: RunningSandbox,
) -> None:
    (first_customer, first), (second_customer, second) = two_cny_accounts_of_different_customers(
        sandbox
    )
    for account in (first, second):
        set_balance(sandbox, account, Decimal("500.00"))
    tokens = {
        (c, n): sandbox.step_up_token(c, "move_money")
        for c in (first_customer, second_customer)
        for n in range(15)
    }
    run = uuid.uuid4().hex[:8]

    async def send(customer: str, source: str, target: str, n: int) -> int:
        body = {
            "from_account": source,
            "to_account_number": target,
            "recipient_name": "x",
            "amount": "5.00",
            "currency": "CNY",
        }
        async with sandbox.async_client(
            customer, **{"X-Verification-Token": tokens[customer, n]}
        ) as http:
            response = await http.post(
                f"{ME}/transfers", json=body, headers={"Idempotency-Key": f"d-{run}-{customer}-{n}"}
            )
        return response.status_code

    statuses = await asyncio.wait_for(
        asyncio.gather(
            *(send(first_customer, first, second, n) for n in range(15)),
            *(send(second_customer, second, first, n) for n in range(15)),
        ),
        timeout=60,
    )
    assert set(statuses) == {201}
    assert sandbox.balance(first) + sandbox.balance(second) == Decimal("1000.00")
