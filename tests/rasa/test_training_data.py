"""`rasa data validate` finds nothing wrong with the training data and domain."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from actions.handoff import HANDOFF_LEAD
from actions.handoff_connector import HandoffReason
from common.environment import PROJECT_ROOT
from common.system_intents import is_system_intent
from registry.catalogue import default_catalogue
from tooling.rasa_cli import run_rasa

ACTIONS_DIR = PROJECT_ROOT / "actions"
SANDBOX_DIR = PROJECT_ROOT / "services" / "sandbox"
# Rasa's own default actions send these responses.
RESPONSES_SENT_BY_RASA = {"utter_default"}
# How a JSON true, false or null reads in a response's name (``utter_x_None``).
JSON_SCALARS = {"True", "False", "None"}


def fixed_names_in_actions() -> set[str]:
    """Responses the action server's code names whole (``"utter_which_one"``)."""
    source = "\n".join(path.read_text() for path in ACTIONS_DIR.glob("*.py"))
    return set(re.findall(r"\"(utter_\w+)\"", source))


def back_end_states() -> set[str]:
    """Every word the back end can answer with: the string literals of the sandbox, which
    stands in for the product back ends, and JSON's own scalars."""
    source = "\n".join(path.read_text() for path in SANDBOX_DIR.rglob("*.py"))
    return set(re.findall(r"\"([A-Za-z][A-Za-z0-9_]*)\"", source)) | JSON_SCALARS


def responses_sent_by_custom_actions() -> set[str]:
    """Exactly the responses the generic actions can send, by name, from the registry: each
    operation's answer, its variants for the states the back end returns and its list rows,
    its confirmation, empty, then and nothing-to-act-on replies, what stopping it says; the
    lines' not-held replies; each form question, its explanation and the digression replies;
    the handoff's lead-ins;
    and the names the actions' code sends as they are. A response outside this set that no
    story or rule uses (a misspelled variant) is never sent, and the test says so."""
    catalogue = default_catalogue()
    states = back_end_states()
    sent = fixed_names_in_actions() | set(catalogue.digression_replies.values())
    sent |= {line.not_held for line in catalogue.lines if line.not_held}
    for operation in catalogue.operations.values():
        sent |= {
            response
            for response in (
                operation.answer,
                operation.confirm,
                operation.empty,
                operation.then,
                operation.no_target,
            )
            if response
        }
        if operation.list_key:
            sent.add(f"{operation.answer}_item")
        if operation.answer_by:
            sent |= {f"{operation.answer}_{state}" for state in states}
        if operation.is_form:
            # Said when the customer stops the request, and when there is nothing to pick.
            sent.add(f"utter_{operation.name}_dropped")
            sent |= {f"utter_{operation.name}_no_{slot}" for slot in operation.slots}
            for slot in operation.required_slots:
                sent |= {
                    f"utter_ask_{slot}",
                    f"utter_ask_{operation.form_name}_{slot}",
                    f"utter_explain_{slot}",
                }
    # The lead-in before a handoff: by reason, or by the intent a line's policy hands off.
    leads = [*get_args(HandoffReason), *catalogue.policy_handoff_intents(), *catalogue.operations]
    sent |= {f"{HANDOFF_LEAD}_{reason}" for reason in leads}
    return sent


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
    sent = responses_sent_by_custom_actions() | RESPONSES_SENT_BY_RASA
    unexpected = [
        warning
        for warning in warnings
        if not (match := re.search(r"The utterance '(\w+)' is not used", warning))
        or match.group(1) not in sent
    ]
    # Intents no customer types (the desk's and the notifier's external intents, the chat
    # page's opening message) have no training examples on purpose.
    unexpected = [
        warning
        for warning in unexpected
        if not (
            (match := re.search(r"The intent '(\w+)' is listed in the domain", warning))
            and is_system_intent(match.group(1))
        )
    ]
    assert unexpected == []
