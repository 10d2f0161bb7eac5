"""Nothing about a conversation leaves the machine, whatever command a developer types: every
Python of the project's environment starts with Rasa's telemetry and crash reporting off, even
for a user whose Rasa configuration turns them on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_rasa_telemetry_is_off_even_when_the_users_configuration_turns_it_on(tmp_path: Path):
    config = tmp_path / ".config" / "rasa" / "global.yml"
    config.parent.mkdir(parents=True)
    config.write_text("metrics:\n  enabled: true\n  rasa_user_id: someone\n")
    environment = {
        key: value for key, value in os.environ.items() if key != "RASA_TELEMETRY_ENABLED"
    }
    environment["HOME"] = str(tmp_path)
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from rasa import telemetry; print(telemetry.is_telemetry_enabled())",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.stdout.strip() == "False", finished.stderr
