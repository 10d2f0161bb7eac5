"""`rasa shell` beside the running assistant: same model, endpoints and action server.

It serves on its own port so the assistant started by `scripts/run` keeps running.
"""

from __future__ import annotations

import os
import sys

from common.environment import PROJECT_ROOT, process_environment
from tooling.model_cache import ensure_model

SHELL_PORT = "5006"


def main() -> None:
    environment = process_environment()
    os.chdir(PROJECT_ROOT)
    command = [
        sys.executable,
        "-m",
        "rasa",
        "shell",
        "--model",
        str(ensure_model()),
        "--port",
        SHELL_PORT,
        "--endpoints",
        "endpoints.yml",
        *sys.argv[1:],
    ]
    os.execve(sys.executable, command, environment)


if __name__ == "__main__":
    main()
