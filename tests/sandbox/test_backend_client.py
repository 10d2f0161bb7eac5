"""The one back-end client (clients/backend.py) against a real sandbox over real HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from clients.backend import DEFAULT_DEADLINE_SECONDS, BackendClient, BackendError
from common.assistant_settings import backend_link
from common.environment import read_profile
from common.secrets import EMBEDDED_PROFILE
from common.settings import Environment
from tests.sandbox.conftest import SERVICE_SECRET, RunningSandbox


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, counting how many requests actually leave the client."""

    def __init__(self) -> None:
        self.sent = 0
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def sandbox(sqlite_sandbox: RunningSandbox) -> RunningSandbox:
    return sqlite_sandbox


@pytest.fixture
async def faults(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox.async_client() as control:
        yield control
        await control.delete("/sandbox/faults")


def make_client(
    sandbox: RunningSandbox, transport: httpx.AsyncBaseTransport | None = None, **options: float
) -> BackendClient:
    return BackendClient(
        sandbox.base_url, SERVICE_SECRET, transport=transport, backoff_seconds=0.05, **options
    )


def cny_account_holder(sandbox: RunningSandbox) -> tuple[str, str]:
    row = sandbox.rows(
        "SELECT a.customer_id, a.account_number FROM bank_accounts a JOIN customers c ON c.id ="
        " a.customer_id WHERE a.currency = 'CNY' AND NOT c.locked"
        " ORDER BY a.account_number LIMIT 1 OFFSET 7"
    )[0]
    return row[0], row[1]


async def test_a_customer_verifies_then_sends_money_through_the_client(
    sandbox: RunningSandbox,
) -> None:
    customer, account = cny_account_holder(sandbox)
    sandbox.execute("UPDATE bank_accounts SET balance = 50000 WHERE account_number = :n", n=account)
    async with make_client(sandbox) as client:
        profile = await client.get_profile(customer)
        started = await client.start_verification(customer, "move_money")
        token = await client.confirm_verification(
            customer, started["verification_id"], sandbox.device_code(customer)
        )
        key = str(uuid.uuid4())
        transfer = {
            "from_account": account,
            "to_account_number": "6228480000000000017",
            "recipient_name": "Han Meimei",
            "amount": "12.50",
            "currency": "CNY",
            "memo": "",
        }
        sent, again = [
            await client.call(
                customer,
                "POST",
                "/v1/customers/me/transfers",
                json=transfer,
                idempotency_key=key,
                verification_token=token,
            )
            for _ in range(2)
        ]
    assert profile["customer_id"] == customer
    assert sent == again and sent["amount"] == "12.50"


async def test_back_end_answers_become_one_error_type_with_a_kind(sandbox: RunningSandbox) -> None:
    customer, _ = cny_account_holder(sandbox)
    others_card = sandbox.scalar(
        "SELECT card_number FROM cards WHERE customer_id <> :c LIMIT 1", c=customer
    )
    own_card = sandbox.scalar("SELECT id FROM cards WHERE customer_id = :c LIMIT 1", c=customer)
    async with make_client(sandbox) as client:
        with pytest.raises(BackendError) as not_theirs:
            await client.call(customer, "GET", f"/v1/customers/me/cards/{others_card}")
        with pytest.raises(BackendError) as needs_code:
            await client.call(
                customer, "POST", f"/v1/customers/me/cards/{own_card}/freeze", verification_token=""
            )
        with pytest.raises(BackendError) as escaped:
            await client.confirm_verification(customer, "..", "123456")
    assert (not_theirs.value.kind, not_theirs.value.status) == ("not_found", 404)
    assert needs_code.value.kind == "verification_required"
    assert needs_code.value.details == {"purpose": "card_control"}
    assert escaped.value.kind == "not_found"
    async with BackendClient(sandbox.base_url, "wrong-secret") as client:
        with pytest.raises(BackendError) as unauthorized:
            await client.get_profile(customer)
    assert unauthorized.value.kind == "unauthorized"


async def test_a_slow_back_end_times_out_instead_of_hanging(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    await faults.put(
        "/sandbox/faults", json={"rules": [{"match": "get_wallet", "latency_ms": 3000}]}
    )
    async with make_client(sandbox, timeout_seconds=0.3, max_retries=0) as client:
        started = time.perf_counter()
        with pytest.raises(BackendError) as error:
            await client.call("C00001", "GET", "/v1/customers/me/wallet")
        elapsed = time.perf_counter() - started
    assert (error.value.kind, error.value.code) == ("unavailable", "timeout")
    assert elapsed < 1.0


async def test_reads_are_retried_a_bounded_number_of_times(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    await faults.put("/sandbox/faults", json={"rules": [{"match": "/v1/*", "outage": True}]})
    transport = CountingTransport()
    async with make_client(sandbox, transport=transport, max_retries=2) as client:
        started = time.perf_counter()
        with pytest.raises(BackendError) as error:
            await client.get_profile("C00001")
        elapsed = time.perf_counter() - started
    assert (error.value.kind, error.value.code) == ("unavailable", "service_unavailable")
    assert error.value.retry_later_may_help
    assert transport.sent == 3
    assert elapsed < 1.0


async def test_a_post_without_idempotency_key_is_never_retried(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    await faults.put("/sandbox/faults", json={"rules": [{"match": "/v1/*", "outage": True}]})
    transport = CountingTransport()
    async with make_client(sandbox, transport=transport, max_retries=2) as client:
        with pytest.raises(BackendError):
            await client.call(
                "C00001",
                "POST",
                "/v1/customers/me/fraud-reports",
                json={"description": "odd charge"},
            )
        assert transport.sent == 1
        with pytest.raises(BackendError):
            await client.call(
                "C00001", "POST", "/v1/customers/me/transfers", json={}, idempotency_key="k" * 12
            )
        assert transport.sent == 1 + 3


async def test_an_unreachable_back_end_fails_fast_as_unavailable() -> None:
    async with BackendClient(
        "http://127.0.0.1:9", "x", timeout_seconds=1, backoff_seconds=0.01
    ) as client:
        started = time.perf_counter()
        with pytest.raises(BackendError) as error:
            await client.get_profile("C00001")
    assert error.value.kind == "unavailable"
    assert time.perf_counter() - started < 2


async def test_waiting_for_the_back_end_does_not_block_the_event_loop(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    await faults.put(
        "/sandbox/faults", json={"rules": [{"match": "get_profile", "latency_ms": 500}]}
    )
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    async with make_client(sandbox) as client:
        await client.get_profile("C00001")
    ticking.cancel()
    assert ticks >= 20


async def test_the_customer_id_is_mandatory() -> None:
    async with BackendClient("http://127.0.0.1:9", "x") as client:
        with pytest.raises(ValueError):
            await client.call("", "GET", "/v1/customers/me")


async def test_the_sandbox_phone_shows_the_code_it_was_sent(sandbox: RunningSandbox) -> None:
    customer, _ = cny_account_holder(sandbox)
    async with make_client(sandbox) as client:
        await client.start_verification(customer, "card_control")
        latest = await client.phone_messages(customer, limit=1)
    assert len(latest) == 1
    assert str(latest[0]["code"]) == sandbox.device_code(customer)


def shipped_client(
    sandbox: RunningSandbox, transport: httpx.AsyncBaseTransport | None = None
) -> BackendClient:
    """The client as the action server builds it (actions/backend_access.py) from the shipped
    embedded profile: its timeout, and the client's own retries, backoff and deadline."""
    link = backend_link(Environment(read_profile(EMBEDDED_PROFILE)))
    return BackendClient(
        sandbox.base_url, SERVICE_SECRET, timeout_seconds=link.timeout_seconds, transport=transport
    )


async def test_under_the_shipped_settings_a_customer_waits_at_most_the_deadline_for_a_read(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    # Every attempt outlasts the timeout: the worst a read can meet.
    await faults.put(
        "/sandbox/faults", json={"rules": [{"match": "get_profile", "latency_ms": 20000}]}
    )
    transport = CountingTransport()
    async with shipped_client(sandbox, transport) as client:
        started = time.perf_counter()
        with pytest.raises(BackendError) as error:
            await client.get_profile("C00001")
        waited = time.perf_counter() - started
    assert (error.value.kind, error.value.code) == ("unavailable", "timeout")
    assert client.deadline_seconds == DEFAULT_DEADLINE_SECONDS <= 5
    # The back end got its full timeout once and a retry in what was left.
    assert transport.sent == 2
    assert DEFAULT_DEADLINE_SECONDS - 0.1 <= waited <= DEFAULT_DEADLINE_SECONDS + 0.5, waited


async def test_under_the_shipped_settings_a_slow_answer_within_the_timeout_is_waited_for(
    sandbox: RunningSandbox, faults: httpx.AsyncClient
) -> None:
    await faults.put(
        "/sandbox/faults", json={"rules": [{"match": "get_profile", "latency_ms": 2500}]}
    )
    async with shipped_client(sandbox) as client:
        profile = await client.get_profile("C00001")
    assert profile["customer_id"] == "C00001"
