"""The Rasa server's credentials: credentials.yml plus each messaging app that is configured.

A messaging app of credentials.messaging.yml is on when every ${VARIABLE} its block names is
set (and not empty) in the server's environment. The blocks are copied with their
placeholders, which Rasa fills in from the environment as it reads the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from common.environment import PROJECT_ROOT

BASE_CREDENTIALS = PROJECT_ROOT / "credentials.yml"
MESSAGING_CREDENTIALS = PROJECT_ROOT / "credentials.messaging.yml"
SERVER_CREDENTIALS = PROJECT_ROOT / ".data" / "credentials.yml"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def configured_messaging_apps(environment: Mapping[str, str]) -> dict[str, dict[str, str]]:
    # BaseLoader reads every value as plain text, so placeholders stay placeholders even where
    # Rasa has taught PyYAML's default loaders to fill them in.
    apps: dict[str, dict[str, str]] = (
        yaml.load(MESSAGING_CREDENTIALS.read_text(), Loader=yaml.BaseLoader) or {}
    )
    configured = {}
    for channel, settings in apps.items():
        needed = {name for value in settings.values() for name in PLACEHOLDER.findall(value)}
        if all(environment.get(name) for name in needed):
            configured[channel] = settings
    return configured


def credentials_file(environment: Mapping[str, str]) -> Path:
    """Writes the server's credentials file and returns its path."""
    apps = configured_messaging_apps(environment)
    text = BASE_CREDENTIALS.read_text()
    if apps:
        text += "\n# Messaging apps configured in the environment (credentials.messaging.yml).\n"
        text += yaml.safe_dump(apps, sort_keys=False)
    SERVER_CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    SERVER_CREDENTIALS.write_text(text)
    return SERVER_CREDENTIALS
