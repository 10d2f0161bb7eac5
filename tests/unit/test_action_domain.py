"""Rasa sends its domain only to the actions that need Rasa's own (endpoints.yml); the others get
the action server's copy of the parts they read, which must say what Rasa's would."""

from __future__ import annotations

from typing import Any

import yaml

from actions.assistant_domain import action_domain, intent_name
from common.environment import PROJECT_ROOT


def test_the_action_servers_copy_has_rasas_responses_and_intents(
    domain_dict: dict[str, Any],
) -> None:
    copy = action_domain()
    assert copy["responses"] == domain_dict["responses"]
    assert sorted(map(intent_name, copy["intents"])) == sorted(
        map(intent_name, domain_dict["intents"])
    )


def test_rasa_sends_the_domain_selectively() -> None:
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
