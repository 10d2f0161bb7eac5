"""`rasa data validate` finds nothing wrong with the training data and domain."""

from __future__ import annotations

import re
from pathlib import Path

from tooling.environment import PROJECT_ROOT
from tooling.rasa_cli import run_rasa

ACTIONS_DIR = PROJECT_ROOT / "actions"
# Rasa's own default actions send these responses.
RESPONSES_SENT_BY_RASA = {"utter_default"}


def responses_sent_by_custom_actions() -> set[str]:
    source = "\n".join(path.read_text() for path in ACTIONS_DIR.glob("*.py"))
    return set(re.findall(r"[\"'](utter_\w+)[\"']", source))


def test_training_data_and_domain_validate_cleanly(tmp_path: Path):
    log = tmp_path / "validate.log"
    result = run_rasa("data", "validate", "--domain", "domain.yml", "--data", "data",
                      "--config", "config.yml", log_path=log)
    output = log.read_text()

    assert result.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines() if "UserWarning" in line]
    # Rasa cannot see that a custom action sends a response; every other warning counts.
    allowed = responses_sent_by_custom_actions() | RESPONSES_SENT_BY_RASA
    unexpected = [
        warning for warning in warnings
        if not (match := re.search(r"The utterance '(\w+)' is not used", warning))
        or match.group(1) not in allowed
    ]
    assert unexpected == []
