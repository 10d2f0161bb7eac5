"""The web chat server as a child process, started like the other servers (tooling/processes.py)."""

from __future__ import annotations

import sys

from tooling.environment import process_environment
from tooling.processes import Server


def webchat_server(port: int, environment: dict[str, str] | None = None) -> Server:
    environment = {**(environment or process_environment()), "WEBCHAT_PORT": str(port)}
    return Server("webchat", [sys.executable, "-m", "services.webchat"],
                  f"http://127.0.0.1:{port}/health", environment)
