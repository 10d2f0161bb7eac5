"""The real servers (sandbox, action server, Rasa), started for end-to-end tests."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        """Lines of the servers' logs that report an error or a crash."""
        return [
            line
            for server in self.servers
            if server.log_path.exists()
            for line in server.log_path.read_text(errors="replace").splitlines()
            if " ERROR " in line or line.startswith("Traceback")
        ]

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
