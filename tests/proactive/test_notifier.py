"""The notifier against a real sandbox (its events made through the admin route, read from its
outbox table as the embedded profile does) and a stand-in for Rasa's HTTP API: what a customer
gets, and what they never get twice."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from clients.backend import BackendClient
from common.assistant_settings import ServiceLink
from common.customer_binding import bound_sender_id
from common.event_stream import save_checkpoint
from common.store_checks import sync_sql_url
from proactive import notifier_store as store
from proactive.notifier import (
    Notifier,
    NotifierLoop,
    RasaConversations,
    event_reader,
    quiet_until,
)
from proactive.notifier_settings import NotifierSettings
from services.sandbox.config import Settings
from services.sandbox.thread_server import SandboxThread
from tests.proactive.notifier_helpers import (
    RASA_TOKEN,
    SECRET,
    Clock,
    FakeRasa,
    make_event,
    quiet_hours_around,
    serve_fake_rasa,
    set_notifications,
)


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    database_url: str


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('notifier') / 'sandbox.db'}"
    server = SandboxThread(
        Settings(database_url=database_url, service_secret=SECRET, customers=30, seed=42)
    ).start()
    yield Sandbox(server.base_url, database_url)
    server.stop()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    server = serve_fake_rasa(fake)
    yield fake
    server.stop()


class Running:
    """A notifier process: its settings, database and queue; ``restart`` is a new process over
    the same database."""

    def __init__(self, sandbox: Sandbox, rasa: FakeRasa, database: Path, **options: Any) -> None:
        self.settings = NotifierSettings(
            rasa_url=rasa.url,
            rasa_api_token=RASA_TOKEN,
            backend=ServiceLink(sandbox.base_url, SECRET, 5.0),
            database_url=f"sqlite:///{database}",
            amqp_url=None,
            events_database_url=sandbox.database_url,
            retry_seconds=1.0,
            **options,
        )
        self.clock = Clock()
        self._start()
        # The sandbox is the module's: earlier tests' events are not this notifier's.
        with create_engine(sync_sql_url(sandbox.database_url)).connect() as source:
            last = source.execute(text("SELECT MAX(seq) FROM event_outbox")).scalar() or 0
        with self.engine.begin() as connection:
            save_checkpoint(connection, store.checkpoints, self.loop.reader.source, last)

    def _start(self) -> None:
        self.engine = store.open_store(self.settings.database_url)
        self.backend = BackendClient(self.settings.backend.url, SECRET)
        self.rasa = RasaConversations(self.settings.rasa_url, RASA_TOKEN)
        self.notifier = Notifier(
            self.settings, self.engine, self.backend, self.rasa, clock=self.clock
        )
        self.loop = NotifierLoop(self.notifier, event_reader(self.settings, self.notifier))

    async def settle(self) -> None:
        """Rounds until nothing is read or due."""
        for _ in range(20):
            if not await self.loop.run_once():
                return
        raise AssertionError("the notifier kept finding work")

    async def restart(self) -> None:
        await self.stop()
        self._start()

    async def stop(self) -> None:
        self.loop.reader.close()
        await self.rasa.aclose()
        await self.backend.aclose()
        self.engine.dispose()

    def status(self, event_id: str) -> str:
        return store.notice_status(self.engine)[event_id]


@pytest.fixture
async def notifier(sandbox: Sandbox, rasa: FakeRasa, tmp_path: Path) -> AsyncIterator[Running]:
    running = Running(sandbox, rasa, tmp_path / "notifier.db")
    yield running
    await running.stop()


async def test_a_consenting_customer_gets_the_notice_in_their_conversation(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00011", consent=True)
    event = make_event(sandbox.base_url, "C00011")
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00011")) == [event["event_id"]]
    assert notifier.status(event["event_id"]) == store.SENT


async def test_a_customer_who_did_not_consent_is_never_sent_a_notice(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00012", consent=False)
    event = make_event(sandbox.base_url, "C00012")
    await notifier.settle()
    notifier.clock.advance(hours=2)
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00012")) == []
    assert notifier.status(event["event_id"]) == store.SKIPPED


async def test_quiet_hours_defer_the_notice_to_their_end_even_across_a_restart(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    window = quiet_hours_around(notifier.clock())
    set_notifications(sandbox.base_url, "C00013", consent=True, quiet_hours=window)
    event = make_event(sandbox.base_url, "C00013")
    await notifier.settle()
    conversation = bound_sender_id("C00013")
    assert rasa.notices_in(conversation) == []
    assert notifier.status(event["event_id"]) == store.WAITING
    notifier.clock.advance(minutes=50)
    await notifier.settle()
    assert rasa.notices_in(conversation) == [], "still within the quiet hours"
    # The notifier restarts while the notice waits; the window ends.
    await notifier.restart()
    notifier.clock.advance(minutes=20)
    await notifier.settle()
    assert rasa.notices_in(conversation) == [event["event_id"]]


async def test_an_event_read_twice_or_replayed_after_a_restart_is_noticed_once(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00014", consent=True)
    event = make_event(sandbox.base_url, "C00014")
    await notifier.settle()
    # The outbox read again from its start (a lost checkpoint, a replay), after a restart.
    await notifier.restart()
    with notifier.engine.begin() as connection:
        connection.execute(store.checkpoints.delete())
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00014")) == [event["event_id"]]


async def test_a_crash_after_rasa_took_the_notice_does_not_send_it_again(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00015", consent=True)
    event = make_event(sandbox.base_url, "C00015")

    class Crash(BaseException):
        pass

    taken = notifier.rasa.trigger_notice

    async def take_then_crash(conversation_id: str, event_id: str) -> None:
        await taken(conversation_id, event_id)
        raise Crash

    notifier.rasa.trigger_notice = take_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await notifier.settle()
    await notifier.restart()
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00015")) == [event["event_id"]]
    assert notifier.status(event["event_id"]) == store.SENT


async def test_a_failed_send_is_tried_again_later_and_a_lost_answer_sends_nothing_twice(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00016", consent=True)
    event = make_event(sandbox.base_url, "C00016")
    rasa.refuse_next = 2
    rasa.lose_answer_next = 1
    await notifier.settle()
    conversation = bound_sender_id("C00016")
    assert rasa.notices_in(conversation) == []
    assert notifier.status(event["event_id"]) == store.WAITING
    # A growing pause between tries: 1 s, 2 s, 4 s.
    for _ in range(3):
        notifier.clock.advance(seconds=5)
        await notifier.settle()
    assert rasa.notices_in(conversation) == [event["event_id"]]
    assert notifier.status(event["event_id"]) == store.SENT


async def test_a_customer_gets_at_most_the_limit_of_notices(
    sandbox: Sandbox, rasa: FakeRasa, tmp_path: Path
) -> None:
    running = Running(sandbox, rasa, tmp_path / "limited.db", max_notices=2)
    try:
        set_notifications(sandbox.base_url, "C00017", consent=True)
        events = [make_event(sandbox.base_url, "C00017") for _ in range(3)]
        await running.settle()
        assert rasa.notices_in(bound_sender_id("C00017")) == [e["event_id"] for e in events[:2]]
        assert running.status(events[2]["event_id"]) == store.RATE_LIMITED
    finally:
        await running.stop()


async def test_a_customer_with_an_agent_or_in_a_form_gets_the_notice_afterwards(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    conversation = bound_sender_id("C00018")
    set_notifications(sandbox.base_url, "C00018", consent=True)
    rasa.paused.add(conversation)
    event = make_event(sandbox.base_url, "C00018")
    await notifier.settle()
    assert rasa.notices_in(conversation) == []
    rasa.paused.clear()
    rasa.forms[conversation] = "wallet_transfer_form"
    notifier.clock.advance(seconds=notifier.settings.busy_retry_seconds)
    await notifier.settle()
    assert rasa.notices_in(conversation) == []
    rasa.forms.clear()
    notifier.clock.advance(seconds=notifier.settings.busy_retry_seconds)
    await notifier.settle()
    assert rasa.notices_in(conversation) == [event["event_id"]]


async def test_a_form_that_begins_as_the_notice_is_sent_gets_it_once_the_form_is_over(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    conversation = bound_sender_id("C00021")
    set_notifications(sandbox.base_url, "C00021", consent=True)
    # The notifier finds no form, and one begins before its trigger arrives.
    rasa.form_takes_next = "bank_transfer_form"
    event = make_event(sandbox.base_url, "C00021")
    await notifier.settle()
    assert rasa.notices_in(conversation) == []
    assert notifier.status(event["event_id"]) == store.WAITING
    rasa.forms.clear()
    notifier.clock.advance(seconds=notifier.settings.busy_retry_seconds)
    await notifier.settle()
    assert rasa.notices_in(conversation) == [event["event_id"]]


async def test_an_event_too_old_to_tell_is_not_sent(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00019", consent=True)
    event = make_event(sandbox.base_url, "C00019")
    notifier.clock.advance(hours=notifier.settings.max_age_hours + 1)
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00019")) == []
    assert notifier.status(event["event_id"]) == store.EXPIRED


def test_quiet_hours_cross_midnight_on_the_customers_clock() -> None:
    profile = {
        "time_zone": "Asia/Shanghai",
        "notifications": {"consent": True, "quiet_hours": {"start": "22:00", "end": "08:00"}},
    }
    # 23:30 in Shanghai is 15:30 UTC: quiet until 08:00 Shanghai, 00:00 UTC the next day.
    assert quiet_until(profile, datetime(2026, 3, 1, 15, 30)) == datetime(2026, 3, 2, 0, 0)
    # 07:59 in Shanghai: a minute left.
    assert quiet_until(profile, datetime(2026, 3, 1, 23, 59)) == datetime(2026, 3, 2, 0, 0)
    # 08:00 in Shanghai: the end is not inside the window.
    assert quiet_until(profile, datetime(2026, 3, 2, 0, 0)) is None
    no_window = {**profile, "notifications": {"consent": True, "quiet_hours": None}}
    assert quiet_until(no_window, datetime(2026, 3, 1, 15, 30)) is None


async def test_an_outbox_made_again_is_read_from_its_start(
    sandbox: Sandbox, rasa: FakeRasa, notifier: Running
) -> None:
    set_notifications(sandbox.base_url, "C00020", consent=True)
    event = make_event(sandbox.base_url, "C00020")
    # The checkpoint is past every row: the back end's outbox was made again since it was kept.
    with notifier.engine.begin() as connection:
        save_checkpoint(connection, store.checkpoints, notifier.loop.reader.source, 10**9)
    await notifier.settle()
    assert rasa.notices_in(bound_sender_id("C00020")) == [event["event_id"]]


def test_a_database_an_earlier_notifier_made_keeps_what_it_decided(tmp_path: Path) -> None:
    # Made before the notifier counted failed rounds: one notice sent, one waiting.
    database = tmp_path / "earlier.db"
    with sqlite3.connect(database) as earlier:
        earlier.execute(
            "CREATE TABLE notifier_notices (event_id VARCHAR(64) PRIMARY KEY, customer_id "
            "VARCHAR(64) NOT NULL, kind VARCHAR(32) NOT NULL, reference VARCHAR(64) NOT NULL, "
            "occurred_at DATETIME NOT NULL, received_at DATETIME NOT NULL, status VARCHAR(16) "
            "NOT NULL, reason VARCHAR(32) NOT NULL, due_at DATETIME NOT NULL, attempts INTEGER "
            "NOT NULL, decided_at DATETIME NOT NULL, sent_at DATETIME)"
        )
        at = "2026-11-30 20:00:00.000000"
        for event_id, status in (("EV-SENT", store.SENT), ("EV-WAITING", store.WAITING)):
            earlier.execute(
                "INSERT INTO notifier_notices VALUES (?, 'C00001', 'payment_failed', 'TX1', "
                "?, ?, ?, 'new', ?, 1, ?, NULL)",
                (event_id, at, at, status, at, at),
            )
    engine = store.open_store(f"sqlite:///{database}")
    assert store.notice_status(engine) == {"EV-SENT": store.SENT, "EV-WAITING": store.WAITING}
    (waiting,) = store.due_notices(engine, datetime(2026, 12, 1), 10)
    assert (waiting.event_id, waiting.attempts, waiting.failures) == ("EV-WAITING", 1, 0)
    engine.dispose()
