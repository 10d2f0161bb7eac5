"""One stack of real servers shared by the end-to-end modules that need nothing but the
defaults: starting the sandbox, the action server, the Rasa server and the desk costs 30 to
40 s, and these modules would each pay it for the same servers.

Each module asks for it with its own block of customers (SharedAssistant.module), so no test
depends on which module ran before it. A module whose servers run with other settings (a
shorter back-end timeout, a lower rate limit, the desk's timings, the production profile)
keeps servers of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.servers import BLOCK_SIZE, BLOCKS, SharedAssistant, assistant_in


@pytest.fixture(scope="session")
def shared_assistant(trained_model: Path, tmp_path_factory) -> Iterator[SharedAssistant]:
    data_dir = tmp_path_factory.mktemp("shared-e2e")
    with assistant_in(
        data_dir, trained_model, SANDBOX_CUSTOMERS=str(BLOCKS * BLOCK_SIZE)
    ) as running:
        yield SharedAssistant(running, data_dir)
