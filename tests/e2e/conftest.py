"""Stacks of real servers shared by the end-to-end modules that run them with the same
settings: starting the sandbox, the action server, the Rasa server and the desk costs 30 to
40 s, and these modules would each pay it for the same servers.

Each module asks for a stack with its own block of customers (SharedAssistant.module), so no
test depends on which module ran before it, and each file still runs alone. A module whose
servers run with settings of their own (the desk's timings, the production profile) keeps
servers of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import (
    BLOCK_SIZE,
    BLOCKS,
    LOW_SENDER_MESSAGES_PER_MINUTE,
    SHORT_BACKEND_TIMEOUT_SECONDS,
    SharedAssistant,
    assistant_in,
)


def _shared(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, name: str, **settings: str
) -> Iterator[SharedAssistant]:
    data_dir = tmp_path_factory.mktemp(name)
    with assistant_in(
        data_dir, trained_model, SANDBOX_CUSTOMERS=str(BLOCKS * BLOCK_SIZE), **settings
    ) as running:
        yield SharedAssistant(running, data_dir)


@pytest.fixture(scope="session")
def shared_assistant(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedAssistant]:
    """The servers with the default settings."""
    yield from _shared(trained_model, tmp_path_factory, "shared-e2e")


@pytest.fixture(scope="session")
def shared_assistant_with_short_limits(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SharedAssistant]:
    """The servers with a short back-end timeout and a low per-sender message rate."""
    yield from _shared(
        trained_model,
        tmp_path_factory,
        "short-limits-e2e",
        BACKEND_TIMEOUT_SECONDS=str(SHORT_BACKEND_TIMEOUT_SECONDS),
        CHANNEL_SENDER_MESSAGES_PER_MINUTE=str(LOW_SENDER_MESSAGES_PER_MINUTE),
    )
