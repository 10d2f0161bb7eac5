"""A session opening in production reads the customer's profile and events from the back end
through its client: a real sandbox over HTTP here, with the customers it seeded today."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from clients.backend import BackendClient
from common.clock import utcnow
from proactive.live import opening_moment
from services.sandbox.config import Settings
from services.sandbox.seed import generate
from services.sandbox.thread_server import SandboxThread

SECRET = "test-only-proactive-secret"
CUSTOMERS = 40


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("proactive") / "sandbox.db"
    server = SandboxThread(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            service_secret=SECRET,
            customers=CUSTOMERS,
            seed=42,
        )
    ).start()
    yield server.base_url
    server.stop()


def customers_whose_only_event_is(kind: str) -> dict[str, datetime]:
    """Customer -> when it happened, by the seed the sandbox used (seeded today, like it)."""
    data = generate(CUSTOMERS, seed=42, reference_date=utcnow().date())
    events: dict[str, list[dict[str, Any]]] = {}
    for event in data["customer_events"]:
        events.setdefault(event["customer_id"], []).append(event)
    return {
        customer: seen[0]["occurred_at"]
        for customer, seen in sorted(events.items())
        if [event["kind"] for event in seen] == [kind]
    }


async def test_a_customer_with_a_failed_payment_is_offered_it_from_the_back_ends_data(
    sandbox: str, trained
) -> None:
    model = trained[0].model
    failed = customers_whose_only_event_is("payment_failed")
    assert failed, "the seed has customers whose only event is a failed payment"
    customer, failed_at = next(iter(failed.items()))
    # They sign in two hours after the payment failed.
    now = failed_at + timedelta(hours=2)
    async with BackendClient(sandbox, SECRET) as client:
        moment = await opening_moment(client, customer, past_questions=[], now=now)
        assert [kind for kind, _ in moment.events] == ["payment_failed"]
        assert "wallet" in moment.profile.products
        offers = model.offers(moment)
        assert offers and offers[0].question == "payments_failed"

        # Their past questions come from the conversations kept (the caller reads them): asked
        # about an hour ago and a day ago, the failed payment stays among the guesses.
        asked = [(now - timedelta(hours=h), "payments_failed") for h in (25, 1)]
        again = await opening_moment(client, customer, past_questions=asked, now=now)
        assert again.past[0] == ("payments_failed", pytest.approx(1 / 24))
        assert "payments_failed" in [o.question for o in model.rank(again)[:3]]
