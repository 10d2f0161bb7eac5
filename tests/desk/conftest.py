"""The desk over real HTTP in the test's own event loop, with a fake Rasa server beside it.

The fake Rasa records what the desk sends it (relayed messages, resume events, triggered
intents) and serves trackers the test fills in. Agents sign in through the console's form and
hold a real console websocket, since that is what makes them count as available.
Claims are also run on PostgreSQL; those runs skip when it is absent, except under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from common.ports import free_port
from services.desk.app import create_app
from services.desk.context import Desk
from services.desk.settings import DeskSettings
from tests.desk_agent import AgentSession, signed_in_agent
from tests.sandbox.conftest import fresh_postgres_database, require_postgres

SERVICE_SECRET = "test-only-desk-service-secret"
RASA_API_TOKEN = "test-only-rasa-api-token"
SESSION_SECRET = "test-only-desk-session-secret"
DEMO_PASSWORD = "demo"
PG_TEST_DATABASE = "fincs_desk_test"


class InLoopServer(uvicorn.Server):
    """uvicorn in the test's event loop; leaves the signal handlers to pytest."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @classmethod
    def for_app(cls, app: Any, port: int, ws: str = "none") -> InLoopServer:
        return cls(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                ws=ws,
                log_config=None,
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )

    async def start(self) -> None:
        self.task = asyncio.create_task(self.serve())
        while not self.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.should_exit = True
        await self.task


@dataclass
class FakeRasa:
    """Just enough of the Rasa server's HTTP API for the desk, on a fixed port so it can be
    stopped and started again like a restarting Rasa."""

    port: int = field(default_factory=free_port)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    trackers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delivery: str = "pushed"
    server: InLoopServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        async def relay(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {SERVICE_SECRET}":
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            body = await request.json()
            self.calls.append(("relay", body["conversation_id"], body))
            return JSONResponse({"recorded": True, "delivery": self.delivery})

        def token_ok(request: Request) -> bool:
            return request.query_params.get("token") == RASA_API_TOKEN

        async def events(request: Request) -> JSONResponse:
            if not token_ok(request):
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            conversation_id = request.path_params["conversation_id"]
            self.calls.append(("events", conversation_id, await request.json()))
            return JSONResponse({"sender_id": conversation_id})

        async def trigger(request: Request) -> JSONResponse:
            if not token_ok(request):
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            conversation_id = request.path_params["conversation_id"]
            body = await request.json()
            self.calls.append(
                (
                    "trigger_intent",
                    conversation_id,
                    {**body, "output_channel": request.query_params.get("output_channel")},
                )
            )
            return JSONResponse({"tracker": {}, "messages": []})

        async def tracker(request: Request) -> JSONResponse:
            if not token_ok(request):
                return JSONResponse({"error": "unauthorised"}, status_code=401)
            conversation_id = request.path_params["conversation_id"]
            return JSONResponse(
                {"sender_id": conversation_id, "events": self.trackers.get(conversation_id, [])}
            )

        return Starlette(
            routes=[
                Route("/webhooks/handoff/relay", relay, methods=["POST"]),
                Route(
                    "/conversations/{conversation_id:path}/tracker/events", events, methods=["POST"]
                ),
                Route(
                    "/conversations/{conversation_id:path}/trigger_intent",
                    trigger,
                    methods=["POST"],
                ),
                Route("/conversations/{conversation_id:path}/tracker", tracker, methods=["GET"]),
            ]
        )

    async def start(self) -> FakeRasa:
        self.server = InLoopServer.for_app(self.app(), self.port)
        await self.server.start()
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def relayed(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        return [
            body
            for kind, conversation, body in self.calls
            if kind == "relay" and conversation_id in (None, conversation)
        ]

    def relayed_texts(self, conversation_id: str) -> list[str]:
        return [body["text"] for body in self.relayed(conversation_id)]

    def customer_said(
        self, conversation_id: str, message_id: str, text: str, timestamp: float | None = None
    ) -> None:
        """A user event in the conversation's tracker, as Rasa stores one."""
        self.trackers.setdefault(conversation_id, []).append(
            {
                "event": "user",
                "message_id": message_id,
                "text": text,
                "timestamp": time.time() if timestamp is None else timestamp,
            }
        )


@dataclass
class RunningDesk:
    settings: DeskSettings
    port: int = field(default_factory=free_port)
    server: InLoopServer | None = None
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    agents: list[AgentSession] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def desk(self) -> Desk:
        assert self.server is not None
        return self.server.config.app.state.desk

    async def start(self) -> RunningDesk:
        self.server = InLoopServer.for_app(create_app(self.settings), self.port, ws="wsproto")
        await self.server.start()
        return self

    async def stop(self) -> None:
        for agent in self.agents:
            await agent.close()
        for client in self.clients:
            await client.aclose()
        self.agents, self.clients = [], []
        if self.server is not None:
            await self.server.stop()
            self.server = None

    def client(self, **options: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.url, timeout=30, **options)
        self.clients.append(client)
        return client

    def service(self) -> httpx.AsyncClient:
        return self.client(headers={"Authorization": f"Bearer {SERVICE_SECRET}"})

    async def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> AgentSession:
        """Signs in through the console's form; the session is not yet at the console."""
        agent = await signed_in_agent(self.url, username, password)
        self.agents.append(agent)
        return agent

    async def agent_at_console(self, username: str) -> AgentSession:
        return await (await self.sign_in(username)).connect()

    async def open_handoff(
        self, conversation_id: str = "customer:C00001", **overrides: Any
    ) -> dict[str, Any]:
        reply = await self.service().post(
            "/api/handoffs", json=handoff_request(conversation_id, **overrides)
        )
        assert reply.status_code == 200, reply.text
        return reply.json()


def handoff_request(conversation_id: str = "customer:C00001", **overrides: Any) -> dict[str, Any]:
    now = time.time()
    customer_id = conversation_id.removeprefix("customer:")
    request = {
        "conversation_id": conversation_id,
        "customer_id": customer_id,
        "channel": "socketio",
        "skill": "security",
        "reason": "policy",
        "reason_detail": "Report fraud or a scam",
        "customer_name": "Li Wei",
        "transcript": [
            {
                "author": "customer",
                "text": "someone took money from my card",
                "timestamp": now - 20,
                "message_id": f"{conversation_id}-m1",
            },
            {
                "author": "bot",
                "text": "I'm bringing in a fraud specialist.",
                "timestamp": now - 19,
                "message_id": None,
            },
        ],
        "intents": [
            {
                "name": "security_report_fraud",
                "description": "Report fraud or a scam",
                "confidence": 0.93,
            }
        ],
        "slots": {"fraud_description": "a payment of 500 yuan I didn't make"},
        "profile": {
            "customer_id": customer_id,
            "name": "Li Wei",
            "segment": "standard",
            "products": ["wallet", "bank_account", "debit_card"],
            "cards": [{"last4": "4821", "status": "frozen", "kind": "debit"}],
        },
    }
    request.update(overrides)
    return request


def desk_settings(database_url: str, rasa: FakeRasa, **overrides: Any) -> DeskSettings:
    """Short periods everywhere so the tests wait fractions of a second."""
    settings = DeskSettings(
        database_url=database_url,
        service_secret=SERVICE_SECRET,
        rasa_url=rasa.url,
        rasa_api_token=RASA_API_TOKEN,
        session_secret=SESSION_SECRET,
        demo_password=DEMO_PASSWORD,
        agent_grace_seconds=0.3,
        reconcile_seconds=0.2,
        outbox_max_backoff_seconds=0.2,
        rasa_timeout_seconds=2,
    )
    return replace(settings, **overrides)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'desk.db'}"


def postgres_url() -> str:
    require_postgres()
    async_url, _ = fresh_postgres_database(PG_TEST_DATABASE)
    return async_url


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    rasa = await FakeRasa().start()
    yield rasa
    await rasa.stop()


DeskFactory = Callable[..., Awaitable[RunningDesk]]


@pytest.fixture
async def start_desk(tmp_path: Path, fake_rasa: FakeRasa) -> AsyncIterator[DeskFactory]:
    """Starts desks on this test's SQLite file (or the URL given); stops them afterwards."""
    started: list[RunningDesk] = []

    async def start(database_url: str | None = None, **overrides: Any) -> RunningDesk:
        settings = desk_settings(database_url or sqlite_url(tmp_path), fake_rasa, **overrides)
        desk = await RunningDesk(settings).start()
        started.append(desk)
        return desk

    yield start
    for desk in reversed(started):
        await desk.stop()


@pytest.fixture
async def desk(start_desk: DeskFactory) -> RunningDesk:
    return await start_desk()
