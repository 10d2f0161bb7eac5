"""The notifier (python -m proactive.notifier) beside servers started for a test: it reads the
test's sandbox outbox, as the embedded profile does, and triggers notices in the test's Rasa."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.ports import free_port
from tests.e2e.servers import RunningAssistant
from tooling.processes import notifier_server


@contextmanager
def notifier_beside(assistant: RunningAssistant, data_dir: Path) -> Iterator[None]:
    """The notifier for ``assistant``'s servers, its database in ``data_dir``; quick to look
    again at a conversation that was busy, so a test sees the deferred notice arrive."""
    environment = {
        **assistant.environment,
        "RASA_URL": assistant.rasa_url,
        "NOTIFIER_DATABASE_URL": f"sqlite:///{data_dir / 'notifier.db'}",
        "NOTIFIER_EVENTS_DATABASE_URL": assistant.environment["SANDBOX_DATABASE_URL"],
        "NOTIFIER_POLL_SECONDS": "0.2",
        "NOTIFIER_BUSY_RETRY_SECONDS": "1",
    }
    server = notifier_server(free_port(), environment)
    server.log_dir = data_dir / "logs"
    server.start()
    try:
        server.wait_until_ready()
        yield
    finally:
        server.stop()
