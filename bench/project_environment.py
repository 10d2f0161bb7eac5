"""The environment the benchmarks start the project's servers with.

Its own module, importing only what every revision of common/ has, because bench/profile.py
copies it into a worktree of an earlier revision (--before) and starts that revision's servers
with it, as it starts today's.
"""

from __future__ import annotations

from pathlib import Path

from common.environment import DEV_SIGNING_SECRET, process_environment

# A benchmark's customers all write from one address, and in the closed loop as fast as they
# are answered; a person does not.
LIFTED_LIMITS = {
    "CHANNEL_SENDER_MESSAGES_PER_MINUTE": "1000000",
    "CHANNEL_ADDRESS_MESSAGES_PER_MINUTE": "1000000",
}


def project_environment(
    work: Path, action_port: int, sandbox_port: int, customers: int, **overrides: str
) -> dict[str, str]:
    """The embedded profile with the run's own ports and files in ``work``, signed-in
    customers, and the per-customer rate limits lifted: a benchmark's customers send as fast as
    they are answered, from one address; a person does not."""
    return process_environment(
        ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook",
        BACKEND_URL=f"http://127.0.0.1:{sandbox_port}",
        SANDBOX_DATABASE_URL=f"sqlite+aiosqlite:///{work / 'sandbox.db'}",
        SANDBOX_CUSTOMERS=str(customers),
        TRACKER_STORE_URL=f"sqlite:///{work / 'tracker.db'}",
        EVENT_BROKER_URL=f"sqlite:///{work / 'events.db'}",
        CHANNEL_SIGNING_SECRET=DEV_SIGNING_SECRET,
        **LIFTED_LIMITS,
        **overrides,
    )
