"""The desk as a child process, started like the other servers (tooling/processes.py)."""

from __future__ import annotations

import sys

from tooling.processes import Server


def desk_server(port: int, environment: dict[str, str]) -> Server:
    return Server("desk", [sys.executable, "-m", "services.desk"],
                  f"http://127.0.0.1:{port}/health", {**environment, "DESK_PORT": str(port)})
