"""The sandbox served by uvicorn in a thread of the calling process, for tests that need a
real back end over real HTTP without a separate process to manage."""

from __future__ import annotations

import threading
import time

import uvicorn

from services.sandbox.app import create_app
from services.sandbox.config import Settings
from tooling.ports import free_port


class SandboxThread:
    """uvicorn on a free loopback port, in its own thread and event loop."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                log_level="warning", ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 120) -> SandboxThread:
        self.thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
