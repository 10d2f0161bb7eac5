"""The requests a signed-in customer's past sessions opened with, as the action server reads
them when their next chat opens: only theirs, only requests, only as far back as asked; the
web chat's opening message is no request and no message of theirs; the KPIs count the chats
opened with offers and those where the customer pressed one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from rasa.shared.core.events import BotUttered

from analytics.api import create_app
from analytics.ingest import Ingestor, SqlBrokerReader, catalogue_lines
from analytics.settings import AnalyticsSettings
from analytics.store import open_store
from clients.analytics import AnalyticsClient, AnalyticsError
from common.clock import utcnow
from tests.analytics.conversations import Conversation, publish

SECRET = "test-analytics-secret-0123456789"
NOW = utcnow().replace(microsecond=0)


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).isoformat(sep=" ")


OFFERS = [
    {
        "title": "Your 120.00 CNY payment to City Water failed today: see why?",
        "payload": '/payments_failed{"transaction_ref": "TX1"}',
    },
    {"title": "Check my bank account balance", "payload": "/bank_balance"},
]


def opened_by_the_chat_page(sender_id: str, days: float) -> Conversation:
    """A web chat session: the page's opening message, the offers, then the customer."""
    talk = Conversation(sender_id, days_ago(days), channel="socketio")
    talk.user("/chat_opened", "chat_opened", after=0.5)
    talk.action("action_offer_likely_questions")
    offers = BotUttered(
        "Hello. Is it about one of these?",
        data={"buttons": OFFERS},
        metadata={"utter_action": "utter_likely_questions"},
    )
    return talk.add(offers, after=0.5)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The analytics service over the sessions of these conversations, read a day later."""
    directory: Path = tmp_path_factory.mktemp("customer-questions")
    balance = opened_by_the_chat_page("customer:C00050", days=10)
    balance.user("what's my balance", "bank_balance").resolved("bank:bank_balance")
    greeting_only = opened_by_the_chat_page("customer:C00050", days=2)
    greeting_only.user("hi", "greet").bot("utter_greet")
    pressed_an_offer = opened_by_the_chat_page("customer:C00050", days=1)
    pressed_an_offer.user('/payments_failed{"transaction_ref": "TX1"}', "payments_failed")
    pressed_an_offer.resolved("payments:payments_failed")
    long_ago = Conversation("customer:C00050", days_ago(200))
    long_ago.user("send me my statement", "bank_statement").resolved("bank:bank_statement")
    someone_else = Conversation("customer:C00051", days_ago(3))
    someone_else.user("my card was declined", "bank_card_declined")
    # Opened and closed without a word: no contact, no question.
    silent = opened_by_the_chat_page("customer:C00050", days=0.5)
    publish(
        directory / "events.db",
        [long_ago, balance, someone_else, greeting_only, pressed_an_offer, silent],
    )
    settings = AnalyticsSettings(
        service_secret=SECRET, broker_type="sql", broker_url=f"sqlite:///{directory / 'events.db'}"
    )
    engine = open_store(f"sqlite:///{directory / 'analytics.db'}")
    later = (NOW + timedelta(days=1)).timestamp()
    ingestor = Ingestor(engine, catalogue_lines(), idle_seconds=1800, clock=lambda: later)
    SqlBrokerReader(settings.broker_url, ingestor).read_once()
    yield create_app(settings, engine=engine, consume=False)
    engine.dispose()


@pytest.fixture
async def analytics(service: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service), base_url="http://analytics"
    ) as client:
        yield client


def client_of(service: FastAPI, secret: str = SECRET) -> AnalyticsClient:
    """The action server's client of the service."""
    return AnalyticsClient("http://analytics", secret, transport=httpx.ASGITransport(app=service))


async def test_a_customer_s_past_requests_come_oldest_first_without_greetings(service) -> None:
    client = client_of(service)
    try:
        found = await client.past_questions("C00050", days=90)
        assert [question for _, question in found] == ["bank_balance", "payments_failed"]
        # When each session opened, to the second the chat page opened it.
        assert all(isinstance(opened_at, datetime) for opened_at, _ in found)
        assert abs(found[0][0] - (NOW - timedelta(days=10))) < timedelta(seconds=5)
        a_year = await client.past_questions("C00050", days=365)
        assert [question for _, question in a_year] == [
            "bank_statement",
            "bank_balance",
            "payments_failed",
        ]
        assert await client.past_questions("C09999", days=90) == []
    finally:
        await client.aclose()


async def test_the_chat_pages_opening_is_no_message_and_its_offers_are_counted(analytics) -> None:
    authorised = {"Authorization": f"Bearer {SECRET}"}
    figures = (await analytics.get("/kpis", headers=authorised)).json()
    # The session opened and closed without a word is none; the others count only what the
    # customer wrote.
    assert figures["sessions"] == 5
    # Three chats opened with offers; the customer pressed one in one of them (typing the
    # balance question is no offer taken).
    assert figures["proactive_offers"] == {
        "offered": 3,
        "taken": 1,
        "offered_rate": 0.6,
        "taken_rate": 0.3333,
    }
    assert {group["intent"] for group in figures["by_intent"]} == {
        "bank_statement",
        "bank_balance",
        "bank_card_declined",
        "greet",
        "payments_failed",
    }


async def test_the_questions_need_the_secret_and_sane_arguments(service, analytics) -> None:
    outsider = client_of(service, "not-the-secret")
    try:
        with pytest.raises(AnalyticsError) as refused:
            await outsider.past_questions("C00050", days=90)
        assert refused.value.status == 401
    finally:
        await outsider.aclose()
    authorised = {"Authorization": f"Bearer {SECRET}"}
    for query in ("days=0", "days=-3", "days=10000"):
        answer = await analytics.get(f"/customers/C00050/questions?{query}", headers=authorised)
        assert answer.status_code == 422
    too_long = await analytics.get(f"/customers/{'C' * 500}/questions", headers=authorised)
    assert too_long.status_code == 422
    injected = await analytics.get("/customers/C00050' OR '1'='1/questions", headers=authorised)
    assert injected.status_code == 200 and injected.json() == {"questions": []}
