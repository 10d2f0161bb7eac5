"""The parts of the assistant's domain the actions read, held by the action server itself.

Rasa sends its whole domain with an action call (about 94 KB of JSON, encoded by Rasa and
decoded here for each of the several calls of a turn) unless ``enable_selective_domain`` is
on (endpoints.yml); then it sends it only to ``validate_`` actions and to those its domain marks
``send_domain: true``. Nearly every action here reads the domain (which responses exist, the
item templates of lists, the intents for "what can you do?"), so marking them would send it
almost as often as before. Instead the action server reads those parts once from the files the
model is trained on (domain.yml, domain/<line>.yml and the registry's intents, merged as
registry/rasa_domain.py merges them for Rasa), and actions.server gives them to every call
that comes without a domain. A test holds them equal to what Rasa's own merge gives.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from common.environment import PROJECT_ROOT
from registry.catalogue import default_catalogue

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
PRODUCT_LINE_DOMAIN_DIR = PROJECT_ROOT / "domain"


def intent_name(intent: str | dict[str, Any]) -> str:
    """An intent of a domain's list, given as its name or as ``{name: {its settings}}``."""
    return intent if isinstance(intent, str) else next(iter(intent))


def domain_parts(files: list[Path], registry_intents: list[str]) -> dict[str, Any]:
    """The responses and intents of ``files`` and the registry: the first declaration of a
    response wins, as in Rasa's merge of the shared domain with the product lines'."""
    responses: dict[str, Any] = {}
    intents: list[str | dict[str, Any]] = []
    for path in files:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variants in (content.get("responses") or {}).items():
            responses.setdefault(name, variants)
        intents += content.get("intents") or []
    known = {intent_name(intent) for intent in intents}
    intents += [intent for intent in registry_intents if intent not in known]
    return {"responses": responses, "intents": intents}


@lru_cache(maxsize=1)
def action_domain() -> dict[str, Any]:
    """The assistant's responses and intents; read once per process. Callers only read it."""
    files = [DOMAIN_FILE, *sorted(PRODUCT_LINE_DOMAIN_DIR.glob("*.yml"))]
    return domain_parts(files, default_catalogue().intents())
