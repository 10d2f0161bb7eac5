"""Start the assistant's servers as child processes, wait until they answer, stop them.

Shared by `scripts/run` and the end-to-end tests, so both run the servers the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from common.assistant_settings import channel_origins
from common.environment import PROJECT_ROOT, process_environment
from common.settings import Environment
from common.store_checks import amqp_url
from tooling.credentials import credentials_file

LOG_DIR = PROJECT_ROOT / ".data" / "logs"
# The notifier's database, on the analytics database's PostgreSQL server.
NOTIFIER_DATABASE = "fincs_notifier"


@dataclass
class Server:
    name: str
    command: Sequence[str]
    ready_url: str
    environment: dict[str, str] = field(default_factory=process_environment)
    log_dir: Path = LOG_DIR
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> Server:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A process group of its own, so stopping it also stops anything it spawned.
            self.process = subprocess.Popen(
                list(self.command),
                cwd=PROJECT_ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_until_ready(self, timeout_seconds: float = 180) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                    if response.status < 500:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not ready after {timeout_seconds}s:\n{self.log_tail()}")

    def stop(self, grace_seconds: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def rasa_server(model: Path, port: int, environment: dict[str, str] | None = None) -> Server:
    environment = environment or process_environment()
    # The browser origins the channels allow (common/assistant_settings.py); none: no browser.
    origins = channel_origins(Environment(environment))
    command = [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--enable-api",
        "--cors",
        *origins,
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--model",
        str(model),
        # One argument: a token that starts with "-" would otherwise read as an option.
        f"--auth-token={environment['RASA_API_TOKEN']}",
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        str(credentials_file(environment)),
    ]
    return Server("rasa", command, f"http://127.0.0.1:{port}/", environment)


def action_server(port: int, environment: dict[str, str] | None = None) -> Server:
    environment = {**(environment or process_environment()), "ACTION_SERVER_PORT": str(port)}
    return Server(
        "actions",
        [sys.executable, "-m", "actions.server"],
        f"http://127.0.0.1:{port}/health",
        environment,
    )


def sandbox_server(port: int, environment: dict[str, str] | None = None) -> Server:
    """The product back-end sandbox (services/sandbox); seeds its database on first start."""
    environment = {**(environment or process_environment()), "SANDBOX_PORT": str(port)}
    return Server(
        "sandbox",
        [sys.executable, "-m", "services.sandbox"],
        f"http://127.0.0.1:{port}/openapi.json",
        environment,
    )


def stop_all(servers: Sequence[Server]) -> None:
    for server in reversed(servers):
        server.stop()


def desk_server(port: int, environment: dict[str, str]) -> Server:
    """The agent desk (services/desk)."""
    return Server(
        "desk",
        [sys.executable, "-m", "services.desk"],
        f"http://127.0.0.1:{port}/health",
        {**environment, "DESK_PORT": str(port)},
    )


def webchat_server(port: int, environment: dict[str, str] | None = None) -> Server:
    """The customer web chat page (services/webchat)."""
    environment = {**(environment or process_environment()), "WEBCHAT_PORT": str(port)}
    return Server(
        "webchat",
        [sys.executable, "-m", "services.webchat"],
        f"http://127.0.0.1:{port}/health",
        environment,
    )


def analytics_server(port: int, environment: dict[str, str]) -> Server:
    """The analytics service (python -m analytics): the event broker into the KPIs."""
    return Server(
        "analytics",
        [sys.executable, "-m", "analytics"],
        f"http://127.0.0.1:{port}/health",
        {**environment, "ANALYTICS_PORT": str(port)},
    )


def notifier_server(port: int, environment: dict[str, str]) -> Server:
    """The notifier (python -m proactive.notifier): back-end events into notices in the
    customers' conversations."""
    return Server(
        "notifier",
        [sys.executable, "-m", "proactive.notifier"],
        f"http://127.0.0.1:{port}/health",
        {**environment, "NOTIFIER_PORT": str(port)},
    )


def with_backend_events_queue(environment: dict[str, str]) -> dict[str, str]:
    """``environment`` with the back end's events on the event broker's RabbitMQ where it is
    RabbitMQ and nothing else is said: the sandbox publishes them there, the notifier reads its
    own queue there and keeps what it sent beside the analytics database. The embedded profile
    needs none of it (the outbox table is the queue)."""
    if environment.get("EVENT_BROKER_TYPE") != "pika":
        return environment
    events_url = amqp_url(
        environment["EVENT_BROKER_URL"],
        environment.get("EVENT_BROKER_USERNAME"),
        environment.get("EVENT_BROKER_PASSWORD"),
    )
    defaults = {"SANDBOX_EVENTS_AMQP_URL": events_url, "NOTIFIER_AMQP_URL": events_url}
    if environment.get("ANALYTICS_DATABASE_URL"):
        defaults["NOTIFIER_DATABASE_URL"] = (
            make_url(environment["ANALYTICS_DATABASE_URL"])
            .set(database=NOTIFIER_DATABASE)
            .render_as_string(hide_password=False)
        )
    return {**environment, **{k: environment.get(k) or v for k, v in defaults.items()}}
