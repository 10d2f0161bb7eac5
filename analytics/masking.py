"""What of an event the analytics store may keep: every text masked, every token dropped.

The channels already mask customers' messages before Rasa records them, but the broker's events
may come from elsewhere (a channel of Rasa's own, a replayed stream), and slots or metadata can
carry what a text never showed. So every string of an event is masked again with the rules of
common/redaction.py, and values under a key or slot that names a credential are dropped. An
event's key is the SHA-256 of its masked canonical JSON: the same event read twice (a replay, a
restart that re-reads unacknowledged messages) gets the same key, and no key is a hash of a card
number.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from common.redaction import mask_for_storage

# Keys (in any nested object) and slot names whose values are credentials or codes.
_CREDENTIAL = re.compile(
    r"token|secret|password|passcode|authori[sz]ation|sealed|one_time|otp|verification_code|cvv",
    re.IGNORECASE,
)
# Identifiers that are not text: masking must not change them (a sender id of six digits).
_IDENTIFIER_KEYS = frozenset({"sender_id", "event", "message_id", "model_id", "timestamp"})


def masked_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` fit for storage."""
    masked = _masked(event)
    if event.get("event") == "slot" and _CREDENTIAL.search(str(event.get("name") or "")):
        masked["value"] = None
    return masked


def _masked(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {
            name: _masked(item, name)
            for name, item in value.items()
            if not _CREDENTIAL.search(str(name))
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, str) and key not in _IDENTIFIER_KEYS:
        return mask_for_storage(value)
    return value


def canonical_json(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_key(masked: dict[str, Any]) -> str:
    """The stored event's unique key."""
    return hashlib.sha256(canonical_json(masked).encode()).hexdigest()
