"""While the assistant trains, its log is turned into short progress lines with the elapsed
seconds: what is checked, each component started and finished, what came from the cache,
and what is still running when the log goes quiet."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tooling import training_progress
from tooling.training_progress import TrainingProgress

RASA_LOG = [
    "2026-11-30 04:55:09 INFO     rasa.cli.train  - "
    "Started validating domain and training data...\n",
    "/site-packages/rasa/shared/utils/io.py:100: UserWarning: The utterance 'x' is not used\n",
    "2026-11-30 04:55:21 INFO     rasa.nlu.utils.spacy_utils  - Trying to load SpaCy model\n",
    "2026-11-30 04:55:24 INFO     rasa.nlu.utils.spacy_utils  - Trying to load SpaCy model\n",
    "2026-11-30 04:55:36 INFO     rasa.engine.training.hooks  - Restored component "
    "'RegexFeaturizer' from cache.\n",
    "2026-11-30 04:55:36 INFO     rasa.engine.training.hooks  - Restored component "
    "'RulePolicy' from cache.\n",
    "2026-11-30 04:55:37 INFO     rasa.engine.training.hooks  - Starting to train component "
    "'TEDPolicy'.\n",
    "Epochs:   0%|          | 0/40 [00:00<?, ?it/s]\rEpochs:  35%|###5      | 14/40 [00:09<00:17]",
]


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_progress, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(training_progress, "QUIET_SECONDS", 0.2)


def test_training_steps_are_told_with_elapsed_seconds(tmp_path: Path) -> None:
    log_path = tmp_path / "train.log"
    log_path.write_text("a previous run's line: Starting to train component 'Old'.\n")
    said: list[str] = []
    with TrainingProgress(log_path, said.append), log_path.open("w") as log:
        for line in RASA_LOG:
            log.write(line)
            log.flush()
            time.sleep(0.05)
        # Quiet while the policy trains: the reader is told what is still running.
        time.sleep(0.4)
        log.write(
            "\rEpochs: 100%|##########| 40/40\n2026-11-30 04:56:00 INFO     "
            "rasa.engine.training.hooks  - Finished training component 'TEDPolicy'.\n"
        )
    steps = [line.split(" s  ", 1)[1] for line in said]
    assert steps[:4] == [
        "checking the domain and training data",
        "preparing the training examples (spaCy pipeline, sentence embeddings)",
        "reused from the last training: RegexFeaturizer, RulePolicy",
        "training TEDPolicy",
    ]
    assert "still training TEDPolicy (epoch 14/40)" in steps
    assert steps[-1].startswith("trained TEDPolicy (")
    assert not any("Old" in step for step in steps)
    assert all(line.startswith("  ") and " s  " in line for line in said)
