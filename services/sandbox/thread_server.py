"""A server served by uvicorn in a thread of the calling process, for tests that need a real
service over real HTTP without a separate process to manage."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from common.ports import free_port
from services.sandbox.app import create_app
from services.sandbox.config import Settings


class ServerThread:
    """uvicorn serving ``app`` on a free loopback port, in its own thread and event loop."""

    def __init__(self, app: Any, ws: str = "none") -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws=ws)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 120) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class SandboxThread(ServerThread):
    """The sandbox as a ServerThread."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(create_app(settings))

    def start(self, timeout_seconds: float = 120) -> SandboxThread:
        super().start(timeout_seconds)
        return self
