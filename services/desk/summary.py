"""A few sentences that tell an agent who this is and what they want, before reading further.

Made from the handoff request alone, with no model: who the customer is, why the assistant
handed over, what they asked, the key details, and the last thing they said.
"""

from __future__ import annotations

from typing import Any

from services.desk.profile_facts import humanise, readable
from services.desk.schemas import HandoffIn

REASONS = {
    "customer_request": "they asked for a person",
    "repeated_fallback": "the assistant could not understand them",
    "policy": "this kind of request always goes to a person",
    "backend_outage": "a back-end system was not answering",
}
# Slots that say nothing to an agent, and ones that must never be shown.
HIDDEN_SLOTS = ("requested_slot", "session_started_metadata")
SECRET_WORDS = ("token", "password", "passcode", "otp", "verification")
MAX_DETAILS = 4
MAX_VALUE_CHARS = 80
MAX_QUOTE_CHARS = 200


def summarise(request: HandoffIn) -> str:
    sentences = [_who(request), _why(request)]
    asked = _asked(request)
    if asked:
        sentences.append(asked)
    last = _last_said(request)
    if last:
        sentences.append(last)
    return " ".join(sentences)


def _who(request: HandoffIn) -> str:
    profile = request.profile or {}
    name = request.customer_name or profile.get("name")
    if request.customer_id:
        who = (
            f"{name} (customer {request.customer_id})"
            if name
            else (f"Customer {request.customer_id}")
        )
    else:
        who = "An anonymous visitor (not signed in)"
    products = profile.get("products")
    if isinstance(products, list) and products:
        return f"{who}, who holds {', '.join(readable(item) for item in products)}."
    return f"{who}."


def _why(request: HandoffIn) -> str:
    reason = REASONS.get(request.reason, request.reason)
    detail = request.reason_detail.strip().rstrip(".")
    return f"Handed over because {reason}" + (f": {detail}." if detail else ".")


def _asked(request: HandoffIn) -> str:
    topics: list[str] = []
    for intent in request.intents:
        topic = (intent.description or humanise(intent.name)).strip().rstrip(".")
        if topic and topic.lower() not in (seen.lower() for seen in topics):
            topics.append(topic)
    details = key_details(request.slots)
    parts = []
    if topics:
        parts.append(f"They asked: {'; '.join(topics)}")
    if details:
        parts.append(f"key details: {', '.join(details)}")
    if not parts:
        return ""
    sentence = "; ".join(parts)
    return sentence[:1].upper() + sentence[1:] + "."


def key_details(slots: dict[str, Any]) -> list[str]:
    details = []
    for name, value in slots.items():
        if (
            name in HIDDEN_SLOTS
            or any(word in name.lower() for word in SECRET_WORDS)
            or value is None
            or value == ""
            or isinstance(value, bool | dict | list)
        ):
            continue
        text = readable(value)
        if len(text) > MAX_VALUE_CHARS:
            text = text[: MAX_VALUE_CHARS - 1] + "…"
        details.append(f"{humanise(name).lower()} {text}")
        if len(details) == MAX_DETAILS:
            break
    return details


def _last_said(request: HandoffIn) -> str:
    said = [
        line.text.strip()
        for line in request.transcript
        if line.author == "customer" and line.text.strip()
    ]
    if not said:
        return ""
    quote = said[-1]
    if len(quote) > MAX_QUOTE_CHARS:
        quote = quote[: MAX_QUOTE_CHARS - 1] + "…"
    return f"Last thing they said: \u201c{quote}\u201d"
