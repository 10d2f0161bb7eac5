"""A copy of the project's registry, domain and NLU data that a test may break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from common.environment import PROJECT_ROOT


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    for folder in ("capabilities", "domain", "data/nlu"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    shutil.copy(PROJECT_ROOT / "domain.yml", tmp_path / "domain.yml")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    """Replaces ``old`` (which must be there once) in ``path``: a designer's mistake."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new))


def line_of(path: Path, text: str) -> int:
    return next(
        number for number, line in enumerate(path.read_text().splitlines(), start=1) if text in line
    )
