"""`rasa data validate` finds nothing wrong with the training data and domain."""

from __future__ import annotations

import re
from pathlib import Path

from common.environment import PROJECT_ROOT
from tooling.rasa_cli import run_rasa

ACTIONS_DIR = PROJECT_ROOT / "actions"
CAPABILITIES_DIR = PROJECT_ROOT / "capabilities"
# Rasa's own default actions send these responses.
RESPONSES_SENT_BY_RASA = {"utter_default"}
# Sent by the generic form actions by naming convention: a form's questions, the explanation
# after a second wrong answer.
CONVENTIONAL_PREFIXES = ("utter_ask_", "utter_explain_")


def responses_sent_by_custom_actions() -> set[str]:
    """Responses named in the action server's code or in the capability registry."""
    source = "\n".join(path.read_text() for path in ACTIONS_DIR.glob("*.py"))
    source += "\n".join(path.read_text() for path in CAPABILITIES_DIR.glob("*.yml"))
    return set(re.findall(r"\b(utter_\w+)\b", source))


def sent_by_custom_actions(response: str, named: set[str]) -> bool:
    """Named, conventional, or a variant of a named answer (``<answer>_item``,
    ``<answer>_<state>``)."""
    return (
        response in named
        or response.startswith(CONVENTIONAL_PREFIXES)
        or any(response.startswith(f"{name}_") for name in named)
    )


def test_training_data_and_domain_validate_cleanly(tmp_path: Path):
    log = tmp_path / "validate.log"
    result = run_rasa(
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--config",
        "config.yml",
        log_path=log,
    )
    output = log.read_text()

    assert result.returncode == 0, output[-3000:]
    warnings = [line for line in output.splitlines() if "UserWarning" in line]
    # Rasa cannot see that a custom action sends a response; every other warning counts.
    named = responses_sent_by_custom_actions() | RESPONSES_SENT_BY_RASA
    unexpected = [
        warning
        for warning in warnings
        if not (match := re.search(r"The utterance '(\w+)' is not used", warning))
        or not sent_by_custom_actions(match.group(1), named)
    ]
    # Intents the agent desk triggers through Rasa's HTTP API are never typed, so they have
    # no training examples on purpose.
    unexpected = [
        warning
        for warning in unexpected
        if not re.search(r"The intent 'EXTERNAL_\w+' is listed in the domain", warning)
    ]
    assert unexpected == []
