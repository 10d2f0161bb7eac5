"""The notifier (``python -m proactive.notifier``): tells customers about back-end events that
concern them (a suspicious payment, a bill due tomorrow, a declined card, a refund that
arrived) in their own conversation, through Rasa's HTTP API.

It reads the back end's events from a queue: a durable RabbitMQ queue of its own bound to the
back end's exchange (production profile) or the back end's outbox table by sequence number
(embedded profile), through common/event_stream.py. Every event of a kind whose scenario has a
notice (capabilities/<line>.yml, ``proactive:``) becomes a row of its database in the
transaction that moves the checkpoint or before the message is acknowledged; the event id is
the row's key, so a redelivery, a replay or a restart adds nothing.

Each waiting notice is then decided when it is due, on the customer's own data read from the
back end on their behalf:

- no consent: skipped, never sent;
- within their quiet hours (on their clock): deferred to the window's end, kept in the database;
- in the middle of a form or with a human agent: deferred, looked at again a little later;
- more than ``max_notices`` sent to them in the last ``rate_window_hours``: rate limited;
- older than ``max_age_hours``: expired;
- else triggered in the conversation: the external intent ``EXTERNAL_proactive_notice`` with the
  event id, which the action server answers with the notice and its button
  (actions/proactive_notice.py), to the channel the customer last used.

A send that fails is tried again with a growing pause. The row says a send was begun before it
is sent, and before any later send Rasa's copy of the conversation is read: a notice that got
there (a crash or a timeout after Rasa took it) is recorded as sent, not sent again. A notice
counts as there when the notice's action answered the trigger: a form that began between the
notifier's look and its trigger takes the trigger as an answer to its question (Rasa gives a
form in progress every message), and the notice is then tried again once the form is over.
Nothing is logged of what a notice says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, Row

from clients.backend import PROFILE_PATH, BackendClient, BackendError
from common.clock import utcnow
from common.customer_binding import bound_sender_id
from common.environment import process_environment
from common.event_stream import DurableQueueReader, TableReader, parsed_json
from common.logging_setup import configure_logging
from common.request_log import serve
from common.store_checks import StoreUnavailable, check_notifier_database
from proactive import notifier_store as store
from proactive.notifier_settings import NotifierSettings

logger = logging.getLogger(__name__)

NOTICE_INTENT = "EXTERNAL_proactive_notice"
NOTICE_ACTION = "action_send_proactive_notice"
EVENT_ENTITY = "event_id"
# The back end's own zone, for a profile that names none.
HOME_TIME_ZONE = "Asia/Shanghai"
OUTBOX_TABLE = "event_outbox"
_NEXT_OUTBOX_ROWS = text(
    "SELECT seq AS position, event_id, customer_id, kind, reference, occurred_at "
    "FROM event_outbox WHERE seq > :after ORDER BY seq LIMIT :n"
)
_LAST_OUTBOX_ROW = text("SELECT MAX(seq) FROM event_outbox")
RETRY_SECONDS = 5
QUEUE_CONNECT_SECONDS = 10


def notice_kinds() -> frozenset[str]:
    """The back-end event kinds whose scenario sends a notice, from the capability registry."""
    from registry.catalogue import default_catalogue

    return frozenset(
        kind for kind, scenario in default_catalogue().scenarios.items() if scenario.notice
    )


def quiet_until(profile: dict[str, Any], now: datetime) -> datetime | None:
    """When the customer's quiet hours end (naive UTC), if ``now`` (naive UTC) is within them
    on their clock; None outside them or when they have none. A window may cross midnight;
    its start is inside it, its end is not."""
    window = (profile.get("notifications") or {}).get("quiet_hours")
    if not isinstance(window, dict):
        return None
    try:
        start = time.fromisoformat(str(window["start"]))
        end = time.fromisoformat(str(window["end"]))
    except (KeyError, ValueError):
        return None
    if start == end:
        return None
    try:
        zone = ZoneInfo(str(profile.get("time_zone") or HOME_TIME_ZONE))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(HOME_TIME_ZONE)
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
    else:
        inside = clock >= start or clock < end
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return ends.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def consents(profile: dict[str, Any]) -> bool:
    return (profile.get("notifications") or {}).get("consent") is True


class RasaUnavailable(Exception):
    """Rasa's HTTP API did not answer, or answered with an error."""


class RasaConversations:
    """The two calls of Rasa's HTTP API the notifier makes, with the API token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_seconds: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Rasa's API takes its token in the query string; it is never logged here.
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_seconds),
            params={"token": token},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def conversation(self, conversation_id: str, *, with_events: bool) -> dict[str, Any]:
        """Rasa's state of the conversation (paused, active form) and, ``with_events``, its
        events since its last restart."""
        state = await self._call(
            "GET",
            f"/conversations/{conversation_id}/tracker",
            params={"include_events": "AFTER_RESTART" if with_events else "NONE"},
        )
        return state if isinstance(state, dict) else {}

    async def trigger_notice(self, conversation_id: str, event_id: str) -> None:
        """The external intent in the conversation, its answer sent to the channel the
        customer last used (Rasa's ``output_channel=latest``)."""
        await self._call(
            "POST",
            f"/conversations/{conversation_id}/trigger_intent",
            params={"output_channel": "latest", "include_events": "NONE"},
            json={"name": NOTICE_INTENT, "entities": {EVENT_ENTITY: event_id}},
        )

    async def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            answer = await self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise RasaUnavailable(type(error).__name__) from None
        if answer.status_code >= 400:
            raise RasaUnavailable(f"HTTP {answer.status_code}")
        return answer.json()


def delivered(state: dict[str, Any], event_id: str) -> bool:
    """Whether the conversation holds the notice of ``event_id``, answered by the notice's
    action: a form that was asking a question takes any message as its answer, the trigger
    too, and then nothing was shown."""
    triggered = False
    for event in state.get("events") or ():
        kind = event.get("event")
        if kind == "user":
            parsed = event.get("parse_data") or {}
            triggered = (parsed.get("intent") or {}).get("name") == NOTICE_INTENT and any(
                entity.get("entity") == EVENT_ENTITY and entity.get("value") == event_id
                for entity in parsed.get("entities") or ()
            )
        elif kind == "action" and triggered:
            if event.get("name") == NOTICE_ACTION:
                return True
            triggered = False
    return False


def busy_reason(state: dict[str, Any]) -> str | None:
    """Why the conversation should not be interrupted now: a human agent has it, or the
    customer is answering a form's questions."""
    if state.get("paused"):
        return "agent"
    if (state.get("active_loop") or {}).get("name"):
        return "form"
    return None


class Notifier:
    """Decides and sends the waiting notices; see the module's docstring."""

    def __init__(
        self,
        settings: NotifierSettings,
        engine: Engine,
        backend: BackendClient,
        rasa: RasaConversations,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self._backend = backend
        self._rasa = rasa
        self._clock = clock
        self._kinds = notice_kinds()

    def record_rows(self, connection: Connection, rows: Sequence[Row[Any]]) -> None:
        """The outbox's rows as waiting notices, in the reader's transaction."""
        store.record_events(
            connection, [dict(row._mapping) for row in rows], self._kinds, self._clock()
        )

    def record_messages(self, bodies: list[bytes]) -> None:
        """The queue's messages as waiting notices, committed before they are acknowledged."""
        events = [event for body in bodies if (event := parsed_json(body)) is not None]
        with self.engine.begin() as connection:
            store.record_events(connection, events, self._kinds, self._clock())

    async def deliver_due(self) -> int:
        """Decides every notice that is due; returns how many were looked at."""
        due = await asyncio.to_thread(
            store.due_notices, self.engine, self._clock(), self.settings.batch_size
        )
        for notice in due:
            await self.deliver(notice)
        return len(due)

    async def deliver(self, notice: store.Notice) -> None:
        now = self._clock()
        if now - notice.occurred_at > timedelta(hours=self.settings.max_age_hours):
            await self._finish(notice, store.EXPIRED, "too_old")
            return
        try:
            profile = await self._backend.call(notice.customer_id, "GET", PROFILE_PATH)
        except BackendError as error:
            if error.kind == "not_found":
                await self._finish(notice, store.SKIPPED, "no_customer")
            else:
                await self._try_again(notice, "backend")
            return
        if not consents(profile):
            await self._finish(notice, store.SKIPPED, "no_consent")
            return
        quiet_end = quiet_until(profile, now)
        if quiet_end is not None:
            await self._defer(notice, quiet_end, "quiet_hours")
            return
        window_start = now - timedelta(hours=self.settings.rate_window_hours)
        sent = await asyncio.to_thread(
            store.sent_since, self.engine, notice.customer_id, window_start
        )
        if sent >= self.settings.max_notices:
            await self._finish(notice, store.RATE_LIMITED, "rate_limited")
            return
        conversation_id = bound_sender_id(notice.customer_id)
        try:
            state = await self._rasa.conversation(conversation_id, with_events=notice.attempts > 0)
        except RasaUnavailable:
            await self._try_again(notice, "rasa")
            return
        if notice.attempts > 0 and delivered(state, notice.event_id):
            # An earlier send got there; its answer was lost (a crash, a timeout).
            await self._finish(notice, store.SENT, "found_sent", sent_at=now)
            return
        busy = busy_reason(state)
        if busy is not None:
            await self._defer(
                notice, now + timedelta(seconds=self.settings.busy_retry_seconds), busy
            )
            return
        # Written before the send: whatever happens next, the next try asks Rasa first.
        await asyncio.to_thread(
            store.update_notice,
            self.engine,
            notice.event_id,
            attempts=notice.attempts + 1,
            reason="sending",
        )
        try:
            await self._rasa.trigger_notice(conversation_id, notice.event_id)
            state = await self._rasa.conversation(conversation_id, with_events=True)
        except RasaUnavailable as error:
            logger.warning("a notice could not be sent (%s); trying again later", error)
            await self._try_again(notice, "rasa", attempts=notice.attempts + 1)
            return
        if not delivered(state, notice.event_id):
            # A form began between the look and the trigger and took the trigger as an answer
            # (Rasa gives a form in progress every message): shown once the form is over.
            logger.warning("a %s notice was taken by a form; trying again later", notice.kind)
            await self._defer(
                notice, self._clock() + timedelta(seconds=self.settings.busy_retry_seconds), "form"
            )
            return
        await self._finish(notice, store.SENT, "sent", sent_at=self._clock())
        logger.info("a %s notice was sent", notice.kind)

    async def _finish(
        self, notice: store.Notice, status: str, reason: str, sent_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "reason": reason, "decided_at": self._clock()}
        if sent_at is not None:
            values["sent_at"] = sent_at
        await asyncio.to_thread(store.update_notice, self.engine, notice.event_id, **values)
        if status != store.SENT:
            logger.info("a %s notice was not sent: %s", notice.kind, reason)

    async def _defer(
        self, notice: store.Notice, until: datetime, reason: str, **values: Any
    ) -> None:
        await asyncio.to_thread(
            store.update_notice,
            self.engine,
            notice.event_id,
            due_at=until,
            reason=reason,
            decided_at=self._clock(),
            **values,
        )

    async def _try_again(self, notice: store.Notice, reason: str, **values: Any) -> None:
        """Due again after a pause that doubles with every failed round, up to a maximum."""
        pause = min(
            self.settings.retry_seconds * 2**notice.failures, self.settings.retry_max_seconds
        )
        await self._defer(
            notice,
            self._clock() + timedelta(seconds=pause),
            reason,
            failures=notice.failures + 1,
            **values,
        )


def event_reader(
    settings: NotifierSettings, notifier: Notifier
) -> TableReader | DurableQueueReader:
    """The queue the profile configures, each batch recorded as waiting notices."""
    if settings.amqp_url is not None:
        return DurableQueueReader(
            settings.amqp_url,
            queue=settings.queue,
            exchange=settings.exchange,
            handle=notifier.record_messages,
            # Declared as the back end declares it.
            exchange_durable=True,
            batch_size=settings.batch_size,
        )
    assert settings.events_database_url is not None
    return TableReader(
        settings.events_database_url,
        OUTBOX_TABLE,
        _NEXT_OUTBOX_ROWS,
        engine=notifier.engine,
        checkpoints=store.checkpoints,
        handle=notifier.record_rows,
        batch_size=settings.batch_size,
        last_position=_LAST_OUTBOX_ROW,
    )


class NotifierLoop:
    """Reads the queue and sends what is due until stopped, trying again after an error (a
    queue, a database or Rasa that is restarting)."""

    def __init__(self, notifier: Notifier, reader: TableReader | DurableQueueReader) -> None:
        self.notifier = notifier
        self.reader = reader
        self._stopped = asyncio.Event()

    async def prepare(self) -> None:
        """Declares the queue before the service says it is up, so events published from then
        on wait for it; a broker still starting is tried again by ``run``."""
        if not isinstance(self.reader, DurableQueueReader):
            return
        try:
            await asyncio.wait_for(self.reader.ready_queue(), QUEUE_CONNECT_SECONDS)
        except Exception as error:  # aio_pika raises assorted types; run tries again
            logger.warning("the event queue cannot be reached yet (%s)", type(error).__name__)

    async def read_once(self) -> int:
        if isinstance(self.reader, DurableQueueReader):
            return await self.reader.read_once()
        return await asyncio.to_thread(self.reader.read_once)

    async def run_once(self) -> int:
        """Reads one batch of the queue and decides what is due; returns how much happened."""
        read = await self.read_once()
        return read + await self.notifier.deliver_due()

    async def run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    done = await self.run_once()
                except Exception as error:
                    # The type only: a database error's text carries the rows' parameters.
                    logger.warning(
                        "the notifier's round failed (%s); trying again in %s s",
                        type(error).__name__,
                        RETRY_SECONDS,
                    )
                    done, wait = 0, float(RETRY_SECONDS)
                else:
                    wait = self.notifier.settings.poll_seconds
                if not done:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopped.wait(), wait)
        finally:
            if isinstance(self.reader, DurableQueueReader):
                await self.reader.close()
            else:
                self.reader.close()

    def stop(self) -> None:
        self._stopped.set()


def create_app(settings: NotifierSettings, *, engine: Engine | None = None) -> FastAPI:
    """The notifier's process: its loop, and ``/health`` for whoever watches it."""
    engine = engine or store.open_store(settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        backend = BackendClient(
            settings.backend.url,
            settings.backend.secret,
            timeout_seconds=settings.backend.timeout_seconds,
        )
        rasa = RasaConversations(settings.rasa_url, settings.rasa_api_token)
        notifier = Notifier(settings, engine, backend, rasa)
        loop = NotifierLoop(notifier, event_reader(settings, notifier))
        await loop.prepare()
        task = asyncio.create_task(loop.run())
        try:
            yield
        finally:
            loop.stop()
            await task
            await rasa.aclose()
            await backend.aclose()

    app = FastAPI(title="notifier", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    configure_logging("notifier")
    settings = NotifierSettings.from_environment(process_environment())
    # Started some other way than scripts/run, it still creates its database or stops.
    try:
        check_notifier_database(settings.database_url)
    except StoreUnavailable as error:
        raise SystemExit(f"Not started: {error}") from None
    # One process: one reader of the queue, and one sender, so a customer's limit is counted
    # by whoever sends.
    serve(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
