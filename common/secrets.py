"""Which secrets a process may start with.

The embedded profile (``DEPLOYMENT_PROFILE=embedded``, set by profiles/embedded.env) is a
local demo: its secrets are public ``dev-only-...`` values so that a newcomer needs nothing.
Anywhere else, and when the profile is not said at all, a secret that is unset, empty or a
dev value stops the process at start-up with a message naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

PROFILE_VARIABLE = "DEPLOYMENT_PROFILE"
EMBEDDED_PROFILE = "embedded"
DEV_SECRET_PREFIX = "dev-only-"
# Below this a secret can be guessed; a deployment's secret store gives far longer ones.
MIN_SECRET_LENGTH = 16


class InsecureSetting(RuntimeError):
    """A secret is missing or is a public development value outside the embedded profile."""


def is_embedded(environ: Mapping[str, str]) -> bool:
    return environ.get(PROFILE_VARIABLE, "").strip().lower() == EMBEDDED_PROFILE


def required_secret(environ: Mapping[str, str], name: str) -> str:
    """The secret ``name``; outside the embedded profile it must be set and not a dev value."""
    value = (environ.get(name) or "").strip()
    if is_embedded(environ):
        if not value:
            raise InsecureSetting(f"{name} is not set (profiles/embedded.env sets a dev value)")
        return value
    if not value:
        raise InsecureSetting(
            f"{name} is not set: set it from the deployment's secret store "
            f"({PROFILE_VARIABLE}={environ.get(PROFILE_VARIABLE) or 'unset'})"
        )
    if value.startswith(DEV_SECRET_PREFIX) or len(value) < MIN_SECRET_LENGTH:
        raise InsecureSetting(
            f"{name} is a development value or shorter than {MIN_SECRET_LENGTH} characters: "
            f"set a real secret from the deployment's secret store "
            f"({PROFILE_VARIABLE}={environ.get(PROFILE_VARIABLE) or 'unset'})"
        )
    return value
