"""Every test story plays out exactly as written against the trained assistant."""

from __future__ import annotations

from pathlib import Path

from common.environment import PROJECT_ROOT
from tooling.rasa_cli import log_tail, run_rasa


def test_every_test_story_succeeds(trained_model: Path, tmp_path: Path):
    log = tmp_path / "rasa-test-core.log"
    result = run_rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        str(PROJECT_ROOT / "tests" / "stories"),
        "--out",
        str(tmp_path / "core"),
        "--fail-on-prediction-errors",
        "--no-plot",
        log_path=log,
    )
    failed = tmp_path / "core" / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else log_tail(log, 60)

    assert result.returncode == 0, details
