"""The environment the assistant's processes run with: a profile file plus overrides.

profiles/<name>.env holds the defaults; a variable already set in the environment wins. The
profile is DEPLOYMENT_PROFILE's (embedded when unset), and only that profile's file is read:
the production profile never inherits the embedded profile's dev secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

from common.secrets import EMBEDDED_PROFILE, PROFILE_VARIABLE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILES_DIR = PROJECT_ROOT / "profiles"
# No process may call out of the machine: Rasa's telemetry is off everywhere.
FIXED_SETTINGS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONUNBUFFERED": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def read_profile(name: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw_line in (PROFILES_DIR / f"{name}.env").read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


# The embedded profile's channel signing secret, for tests and benchmarks that sign customers in
# as the embedded profile's channel side does; read from the profile, its one home.
DEV_SIGNING_SECRET = read_profile(EMBEDDED_PROFILE)["CHANNEL_SIGNING_SECRET"]


def process_environment(profile: str | None = None, **overrides: str) -> dict[str, str]:
    """Profile defaults, then the caller's environment, then explicit overrides."""
    profile = profile or os.environ.get(PROFILE_VARIABLE) or EMBEDDED_PROFILE
    environment = {**read_profile(profile), **os.environ, **FIXED_SETTINGS}
    environment.update(overrides)
    return environment
