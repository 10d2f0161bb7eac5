"""A designer or a demo makes a back-end event happen now with one command, and the back end
then shows it as it would a real one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clients.backend import BackendClient, BackendError
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tooling.make_event import make_event

SECRET = "test-only-make-event-secret"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database: Path = tmp_path_factory.mktemp("make-event") / "sandbox.db"
    server = SandboxThread(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            service_secret=SECRET,
            customers=30,
            seed=42,
        )
    ).start()
    yield server.base_url
    server.stop()


@pytest.fixture(autouse=True)
def talks_to_that_sandbox(sandbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_URL", sandbox)
    monkeypatch.setenv("SANDBOX_SERVICE_SECRET", SECRET)


async def wallet_holder(sandbox: str) -> str:
    async with BackendClient(sandbox, SECRET) as backend:
        for number in range(1, 31):
            customer = f"C{number:05d}"
            if "wallet" in (await backend.get_profile(customer))["products"]:
                return customer
    raise AssertionError("the seed has a customer with a wallet")


async def test_a_failed_payment_made_now_is_listed_and_its_payment_failed(sandbox: str):
    customer = await wallet_holder(sandbox)

    event = await make_event(customer, "payment_failed")

    async with BackendClient(sandbox, SECRET) as backend:
        listed = await backend.call(customer, "GET", "/v1/customers/me/events", params={"limit": 1})
        payment = await backend.call(
            customer, "GET", f"/v1/customers/me/wallet/transactions/{event['reference']}"
        )
    assert listed["events"][0]["event_id"] == event["event_id"]
    assert payment["status"] == "failed"


async def test_an_event_about_a_product_the_customer_lacks_is_refused_saying_which(sandbox: str):
    async with BackendClient(sandbox, SECRET) as backend:
        products = {
            f"C{n:05d}": (await backend.get_profile(f"C{n:05d}"))["products"] for n in range(1, 31)
        }
    without_credit = next(c for c, held in products.items() if "credit_line" not in held)

    with pytest.raises(BackendError) as refused:
        await make_event(without_credit, "bill_due_tomorrow")

    assert "credit_line" in str(refused.value.details or refused.value)
