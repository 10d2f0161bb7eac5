"""The project as it was at an earlier revision, for benchmarks that measure before and after."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from common.environment import PROJECT_ROOT


@contextmanager
def checkout(revision: str, todays_files: Sequence[str] = ()) -> Iterator[Path]:
    """A temporary git worktree of ``revision``, removed afterwards, run with this environment.

    ``todays_files`` (paths from the project root) are copied over the old ones: the
    benchmark's own code, so that both revisions are measured the same way.
    """
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "before"
        git = ["git", "-C", str(PROJECT_ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", str(root), revision], check=True)
        try:
            for name in todays_files:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(PROJECT_ROOT / name, root / name)
            yield root
        finally:
            subprocess.run([*git, "remove", "--force", str(root)], check=True)
