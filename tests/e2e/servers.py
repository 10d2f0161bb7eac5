"""The real servers (sandbox, action server, Rasa), started for end-to-end tests."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from common.environment import DEV_SIGNING_SECRET, process_environment
from common.ports import free_port
from tooling.processes import (
    Server,
    action_server,
    desk_server,
    rasa_server,
    sandbox_server,
    stop_all,
)

# Enough synthetic customers for end-to-end conversations, quick to seed.
E2E_CUSTOMERS = 40


@dataclass
class RunningAssistant:
    rasa_url: str
    api_token: str
    servers: list[Server]
    backend_url: str
    backend_secret: str
    desk_url: str
    environment: dict[str, str]
    # The customers a module chats as: C00001... on servers of its own, its own block of
    # numbers on servers it shares (tests/e2e/conftest.py).
    first_customer: int = 1
    customers: int = E2E_CUSTOMERS
    # How far each server's log went before this module started, so that it reads only the
    # lines its own tests caused on servers it shares.
    log_offsets: dict[str, int] = field(default_factory=dict)

    def customer(self, number: int) -> str:
        """The module's ``number``-th customer: C00001 for 1 on servers of its own."""
        assert 1 <= number <= self.customers, f"customer {number} of {self.customers}"
        return f"C{self.first_customer + number - 1:05d}"

    @property
    def customer_ids(self) -> list[str]:
        return [self.customer(number) for number in range(1, self.customers + 1)]

    def for_module(self, first_customer: int, customers: int) -> RunningAssistant:
        """These servers as one module sees them: its own customers, its own log lines."""
        return replace(
            self,
            first_customer=first_customer,
            customers=customers,
            log_offsets={
                server.name: server.log_path.stat().st_size if server.log_path.exists() else 0
                for server in self.servers
            },
        )

    def say(
        self, sender: str, message: str, sign_in_token: str | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """Sends a message over REST; returns the HTTP status and the replies.

        With a sign-in token the message goes through the signed-in customers' channel.
        """
        body = json.dumps({"sender": sender, "message": message}).encode()
        headers = {"Content-Type": "application/json"}
        channel = "rest"
        if sign_in_token is not None:
            headers["Authorization"] = f"Bearer {sign_in_token}"
            channel = "signed_rest"
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/{channel}/webhook", body, headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, []

    def api(self, path: str, body: dict[str, Any] | None = None) -> Any:
        separator = "&" if "?" in path else "?"
        url = f"{self.rasa_url}{path}{separator}token={self.api_token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def server_errors(self) -> list[str]:
        """Lines of the servers' logs, since this module started, that report an error or a
        crash."""
        errors = []
        for server in self.servers:
            if not server.log_path.exists():
                continue
            with server.log_path.open("rb") as log:
                log.seek(self.log_offsets.get(server.name, 0))
                text = log.read().decode(errors="replace")
            errors += [
                line
                for line in text.splitlines()
                if " ERROR " in line or line.startswith("Traceback")
            ]
        return errors

    def backend(
        self, method: str, path: str, body: Any = None, customer_id: str | None = None
    ) -> Any:
        """Calls the sandbox as the action server does (service secret, optional customer)."""
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.backend_secret}",
        }
        if customer_id:
            headers["X-Customer-Id"] = customer_id
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.backend_url}{path}", data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def tracker(self, sender: str) -> dict[str, Any]:
        return self.api(f"/conversations/{sender}/tracker")


@contextmanager
def running_assistant(
    model: Path, log_dir: Path, **environment_overrides: str
) -> Iterator[RunningAssistant]:
    """Starts the sandbox, the action server, the Rasa server and the agent desk on free
    ports, with small databases in ``log_dir``, and stops them afterwards, whatever happens."""
    rasa_port, action_port, sandbox_port = free_port(), free_port(), free_port()
    desk_port = free_port()
    per_run = {
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "BACKEND_URL": f"http://127.0.0.1:{sandbox_port}",
        "SANDBOX_DATABASE_URL": f"sqlite+aiosqlite:///{log_dir / 'sandbox.db'}",
        "SANDBOX_CUSTOMERS": str(E2E_CUSTOMERS),
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "DESK_URL": f"http://127.0.0.1:{desk_port}",
        "DESK_DATABASE_URL": f"sqlite+aiosqlite:///{log_dir / 'desk.db'}",
    }
    environment = process_environment(**{**per_run, **environment_overrides})
    servers = [
        sandbox_server(sandbox_port, environment),
        action_server(action_port, environment),
        rasa_server(model, rasa_port, environment),
        desk_server(desk_port, environment),
    ]
    for server in servers:
        server.log_dir = log_dir
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_ready()
        yield RunningAssistant(
            f"http://127.0.0.1:{rasa_port}",
            environment["RASA_API_TOKEN"],
            servers,
            environment["BACKEND_URL"],
            environment["SANDBOX_SERVICE_SECRET"],
            environment["DESK_URL"],
            environment,
        )
    finally:
        stop_all(servers)


@contextmanager
def assistant_in(
    data_dir: Path, model: Path, **environment_overrides: str
) -> Iterator[RunningAssistant]:
    """running_assistant with its tracker store, event broker and logs in ``data_dir`` and the
    development signing secret, as the end-to-end test modules run it."""
    environment = {
        "TRACKER_STORE_URL": f"sqlite:///{data_dir / 'tracker.db'}",
        "EVENT_BROKER_URL": f"sqlite:///{data_dir / 'events.db'}",
        "CHANNEL_SIGNING_SECRET": DEV_SIGNING_SECRET,
        **environment_overrides,
    }
    with running_assistant(model, data_dir / "logs", **environment) as running:
        yield running


# A module's block is the first E2E_CUSTOMERS numbers of a hundred, so that its customers
# keep the last two digits that give customers their seeded states
# (services/sandbox/README.md): block 1's third customer is C00103, seeded in the same state
# as C00003. The sandbox seeds its customers in number order, so block 0 holds the very
# customers a module's servers of its own would.
BLOCK_SIZE = 100
BLOCKS = 5

# The second shared stack's settings, each low so that a test can go over it in seconds: the
# back end's timeout (test_backend_conversations.py) and the messages a sender may send a
# minute (test_customer_channels.py). Neither module's tests depend on the other's setting.
SHORT_BACKEND_TIMEOUT_SECONDS = 1
LOW_SENDER_MESSAGES_PER_MINUTE = 12


class SharedAssistant:
    """Servers shared by several modules (tests/e2e/conftest.py), handed to each with its own
    block of customers: a signed-in customer has one conversation and their back-end state is
    theirs alone, so a module that chats only as its own customers sees what it would on
    servers of its own, in any order, run alone or with the others."""

    def __init__(self, running: RunningAssistant, data_dir: Path) -> None:
        self.running = running
        # Everything the servers write (databases and logs), for the checks that search it.
        self.data_dir = data_dir
        self._blocks: dict[int, str] = {}

    def module(self, request: pytest.FixtureRequest, block: int) -> RunningAssistant:
        """The servers as ``request``'s module sees them: its customers, its log lines."""
        name = request.module.__name__
        assert 0 <= block < BLOCKS, f"{name}: block {block} of {BLOCKS}"
        owner = self._blocks.setdefault(block, name)
        assert owner == name, f"{name} and {owner} both chat as the customers of block {block}"
        return self.running.for_module(block * BLOCK_SIZE + 1, E2E_CUSTOMERS)
