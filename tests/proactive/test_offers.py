"""What a signed-in customer is offered when their chat opens: the real action, a real sandbox
over HTTP, the real analytics service (in-process) for their past questions, and the proactive
model trained on the smoke-sized histories (tests/proactive/conftest.py)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.proactive_offers import OPENING_SECONDS, ActionOfferLikelyQuestions, ModelLoader
from actions.rendering import money_text
from analytics.api import create_app
from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.settings import AnalyticsSettings
from analytics.store import open_store
from clients.analytics import AnalyticsClient
from clients.backend import BackendClient
from common.assistant_settings import ActionServerSettings
from common.clock import utcnow
from common.customer_binding import bound_sender_id
from common.environment import read_profile
from common.secrets import InsecureSetting
from registry.catalogue import default_catalogue
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tests.analytics.conversations import Conversation as RecordedConversation
from tests.analytics.conversations import publish
from tests.operations.conversation import SETTINGS, Conversation

SECRET = "test-only-offers-secret"
ANALYTICS_SECRET = "test-only-offers-analytics-secret"
CUSTOMERS = 60
NOW = utcnow().replace(microsecond=0)
# The action server's settings as the embedded profile gives them, without an analytics
# service unless a test hands the action one.
WITHOUT_ANALYTICS = replace(SETTINGS, analytics=None)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    database = tmp_path_factory.mktemp("offers") / "sandbox.db"
    server = SandboxThread(
        Settings(
            database_url=f"sqlite+aiosqlite:///{database}",
            service_secret=SECRET,
            customers=CUSTOMERS,
            seed=42,
        )
    ).start()
    yield server
    server.stop()


@pytest.fixture
async def client(sandbox: SandboxThread) -> AsyncIterator[BackendClient]:
    async with BackendClient(sandbox.base_url, SECRET, backoff_seconds=0.01) as backend:
        yield backend


@pytest.fixture(scope="module")
def model_file(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke model, written to a model cache of its own as training writes it."""
    return trained[0].model.save(tmp_path_factory.mktemp("model-cache") / "proactive.joblib")


def sandbox_get(sandbox: SandboxThread, path: str, customer_id: str) -> Any:
    headers = {"Authorization": f"Bearer {SECRET}", "X-Customer-Id": customer_id}
    reply = httpx.get(f"{sandbox.base_url}{path}", headers=headers, timeout=10)
    reply.raise_for_status()
    return reply.json()


def set_faults(sandbox: SandboxThread, rules: list[dict[str, Any]]) -> None:
    headers = {"Authorization": f"Bearer {SECRET}"}
    reply = httpx.put(f"{sandbox.base_url}/sandbox/faults", json={"rules": rules}, headers=headers)
    reply.raise_for_status()


def events_of(sandbox: SandboxThread, customer_id: str) -> list[dict[str, Any]]:
    return sandbox_get(sandbox, "/v1/customers/me/events?limit=50", customer_id)["events"]


def customers(sandbox: SandboxThread, wanted: Callable[[list[dict[str, Any]]], bool]) -> list[str]:
    """The sandbox's customers whose events (newest first) are as ``wanted``."""
    found = []
    for number in range(1, CUSTOMERS + 1):
        customer = f"C{number:05d}"
        if wanted(events_of(sandbox, customer)):
            found.append(customer)
    return found


def occurred(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


@pytest.fixture(scope="module")
def failed_payment(sandbox: SandboxThread) -> tuple[str, dict[str, Any]]:
    """A customer whose only event is a failed payment, and the event."""
    only_failed = customers(
        sandbox, lambda events: [e["kind"] for e in events] == ["payment_failed"]
    )
    assert only_failed, "the seed has customers whose only event is a failed payment"
    customer = only_failed[0]
    return customer, events_of(sandbox, customer)[0]


@pytest.fixture(scope="module")
def uneventful(sandbox: SandboxThread) -> list[str]:
    """Customers the back end has no event for."""
    found = customers(sandbox, lambda events: not events)
    assert len(found) >= 2, "the seed has customers without events"
    return found


def past_sessions_service(directory: Path, conversations: list[RecordedConversation]) -> Any:
    """The analytics service over the sessions of ``conversations``, as Rasa's broker sent
    them and the service stored them."""
    publish(directory / "events.db", conversations)
    settings = AnalyticsSettings(
        service_secret=ANALYTICS_SECRET,
        broker_type="sql",
        broker_url=f"sqlite:///{directory / 'events.db'}",
    )
    engine = open_store(f"sqlite:///{directory / 'analytics.db'}")
    later = NOW.timestamp() + 3600
    SqlBrokerReader(
        settings.broker_url,
        Ingestor(engine, catalogue_lines(), idle_seconds=1800, clock=lambda: later),
    ).read_once()
    return create_app(settings, engine=engine, consume=False), engine


@pytest.fixture(scope="module")
def analytics_app(tmp_path_factory: pytest.TempPathFactory, uneventful: list[str]) -> Iterator[Any]:
    """The first uneventful customer checks their balance every few days."""
    asked = []
    for days in (20, 16, 12, 9, 6, 4, 2, 1):
        talk = RecordedConversation(
            bound_sender_id(uneventful[0]), (NOW - timedelta(days=days)).isoformat(sep=" ")
        )
        asked.append(talk.user("what's my balance", "bank_balance").resolved("bank:bank_balance"))
    app, engine = past_sessions_service(tmp_path_factory.mktemp("offers-analytics"), asked)
    yield app
    engine.dispose()


def analytics_client(app: Any) -> AnalyticsClient:
    return AnalyticsClient(
        "http://analytics", ANALYTICS_SECRET, transport=httpx.ASGITransport(app=app)
    )


def tracker(customer_id: str | None) -> Tracker:
    sender = bound_sender_id(customer_id) if customer_id else "anonymous-visitor"
    opened = {"text": "/chat_opened", "intent": {"name": "chat_opened", "confidence": 1.0}}
    return Tracker(sender, {}, opened, [{"event": "user", **opened}], False, None, {}, "")


async def chat_opens(action: ActionOfferLikelyQuestions, customer_id: str | None) -> dict[str, Any]:
    """What the assistant says as the chat opens: one message."""
    dispatcher = CollectingDispatcher()
    assert await action.run(dispatcher, tracker(customer_id), {}) == []
    (message,) = dispatcher.messages
    return message


def action_for(
    client: BackendClient,
    model_file: Path,
    now: datetime,
    analytics: AnalyticsClient | None = None,
) -> ActionOfferLikelyQuestions:
    return ActionOfferLikelyQuestions(
        client,
        settings=WITHOUT_ANALYTICS,
        models=ModelLoader(model_file),
        analytics=analytics,
        clock=lambda: now,
    )


async def test_a_customer_with_a_failed_payment_is_offered_it_first_in_their_own_words(
    client: BackendClient, sandbox: SandboxThread, model_file: Path, failed_payment, domain_dict
) -> None:
    customer, event = failed_payment
    transaction = sandbox_get(
        sandbox, f"/v1/customers/me/wallet/transactions/{event['reference']}", customer
    )
    # They open the chat two hours after the payment failed.
    action = action_for(client, model_file, occurred(event) + timedelta(hours=2))

    message = await chat_opens(action, customer)

    assert message["response"] == "utter_likely_questions"
    buttons = message["buttons"]
    assert 1 <= len(buttons) <= 3
    amount = money_text(transaction["amount"], transaction["currency"])
    assert re.fullmatch(
        rf"Your {re.escape(amount)} payment to {re.escape(transaction['merchant'])} failed "
        r"(today|yesterday): see why\?",
        buttons[0]["title"],
    ), buttons[0]["title"]
    assert buttons[0]["payload"] == (
        f'/payments_failed{{"transaction_ref": "{event["reference"]}"}}'
    )
    # The others are the questions' own descriptions, each the intent that starts its flow.
    catalogue = default_catalogue()
    for button in buttons[1:]:
        intent = button["payload"].removeprefix("/")
        assert button["title"] == catalogue.describe(intent)
        assert intent in domain_dict["intents"]

    # Pressing the offer runs the flow on that payment: why it failed.
    conversation = Conversation(customer, client, domain_dict)
    answer = await conversation.say(
        buttons[0]["payload"], "payments_failed", transaction_ref=event["reference"]
    )
    diagnosis = sandbox_get(
        sandbox, f"/v1/customers/me/wallet/transactions/{event['reference']}/diagnosis", customer
    )
    assert conversation.last_responses[0].startswith("utter_payments_failed")
    said = " ".join(answer)
    assert f"Your payment of {amount} to {transaction['merchant']}" in said
    assert "did not go through" in said
    assert diagnosis["explanation"] in said


async def test_an_event_the_back_ends_clock_puts_ahead_of_ours_still_counts(
    client: BackendClient, model_file: Path, failed_payment
) -> None:
    # The back end's clock runs an hour ahead of the action server's (or its demo data were
    # seeded for later today): the failed payment it lists has happened all the same.
    customer, event = failed_payment
    action = action_for(client, model_file, occurred(event) - timedelta(hours=1))

    message = await chat_opens(action, customer)

    assert message["response"] == "utter_likely_questions"
    assert message["buttons"][0]["payload"].startswith("/payments_failed")
    assert message["buttons"][0]["title"].endswith("failed today: see why?")


async def test_without_events_or_past_questions_the_chat_opens_with_the_greeting(
    client: BackendClient, model_file: Path, uneventful: list[str], analytics_app: Any
) -> None:
    action = action_for(client, model_file, NOW, analytics_client(analytics_app))

    message = await chat_opens(action, uneventful[1])

    assert message == {**message, "response": "utter_greet"}
    assert not message.get("buttons")


async def test_without_events_the_customers_past_questions_are_offered(
    client: BackendClient, model_file: Path, uneventful: list[str], analytics_app: Any
) -> None:
    analytics = analytics_client(analytics_app)
    action = action_for(client, model_file, NOW, analytics)
    try:
        message = await chat_opens(action, uneventful[0])
    finally:
        await analytics.aclose()

    assert message["response"] == "utter_likely_questions"
    assert 1 <= len(message["buttons"]) <= 3
    assert message["buttons"][0] == {
        "title": "Check my bank account balance",
        "payload": "/bank_balance",
    }


async def test_an_anonymous_chat_is_greeted(client: BackendClient, model_file: Path) -> None:
    message = await chat_opens(action_for(client, model_file, NOW), None)
    assert message["response"] == "utter_greet" and not message.get("buttons")


async def test_without_analytics_the_offers_come_from_the_profile_and_events(
    client: BackendClient, model_file: Path, failed_payment, caplog: pytest.LogCaptureFixture
) -> None:
    customer, event = failed_payment
    unreachable = AnalyticsClient("http://127.0.0.1:9", ANALYTICS_SECRET, timeout_seconds=0.5)
    action = action_for(client, model_file, occurred(event) + timedelta(hours=2), unreachable)

    with caplog.at_level(logging.WARNING, logger="actions.proactive_offers"):
        message = await chat_opens(action, customer)

    assert message["response"] == "utter_likely_questions"
    assert message["buttons"][0]["payload"].startswith("/payments_failed")
    assert any("past questions" in record.getMessage() for record in caplog.records)


async def test_a_slow_back_end_never_holds_the_greeting_up(
    client: BackendClient, sandbox: SandboxThread, model_file: Path, failed_payment
) -> None:
    customer, event = failed_payment
    action = action_for(client, model_file, occurred(event) + timedelta(hours=2))
    set_faults(sandbox, [{"match": "/v1/customers/me/events", "latency_ms": 6_000}])
    try:
        started = time.monotonic()
        message = await chat_opens(action, customer)
        waited = time.monotonic() - started
    finally:
        set_faults(sandbox, [])

    assert message["response"] == "utter_greet" and not message.get("buttons")
    assert waited < OPENING_SECONDS + 1


async def test_a_back_end_that_is_down_gets_the_greeting(model_file: Path, failed_payment) -> None:
    customer, _ = failed_payment
    async with BackendClient("http://127.0.0.1:9", SECRET, backoff_seconds=0.01) as down:
        message = await chat_opens(action_for(down, model_file, NOW), customer)
    assert message["response"] == "utter_greet" and not message.get("buttons")


async def test_without_a_model_the_chat_opens_with_the_greeting_and_one_warning(
    client: BackendClient, failed_payment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customer, event = failed_payment
    action = ActionOfferLikelyQuestions(
        client,
        settings=WITHOUT_ANALYTICS,
        models=ModelLoader(tmp_path / "proactive.joblib"),
        clock=lambda: occurred(event) + timedelta(hours=2),
    )
    with caplog.at_level(logging.WARNING, logger="actions.proactive_offers"):
        first = await chat_opens(action, customer)
        second = await chat_opens(action, customer)

    assert first["response"] == second["response"] == "utter_greet"
    warnings = [r for r in caplog.records if "no proactive model" in r.getMessage()]
    assert len(warnings) == 1


def test_the_action_server_reads_past_questions_only_with_the_analytics_secret() -> None:
    embedded = read_profile("embedded")
    link = ActionServerSettings.from_environment(embedded).analytics
    assert link is not None and link.url == embedded["ANALYTICS_URL"]
    # Read while the greeting waits: the offers never wait long for it.
    assert link.timeout_seconds < OPENING_SECONDS
    without = {k: v for k, v in embedded.items() if k != "ANALYTICS_SERVICE_SECRET"}
    assert ActionServerSettings.from_environment(without).analytics is None
    # Once set, the secret obeys the rule every secret does: no dev value in a deployment.
    deployment = {
        **{k: f"real-{k.lower()}" for k in embedded if k.endswith(("_SECRET", "_TOKEN"))},
        "ANALYTICS_SERVICE_SECRET": embedded["ANALYTICS_SERVICE_SECRET"],
    }
    with pytest.raises(InsecureSetting, match="ANALYTICS_SERVICE_SECRET"):
        ActionServerSettings.from_environment(
            {**embedded, **deployment, "DEPLOYMENT_PROFILE": "production"}
        )
