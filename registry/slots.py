"""The slots the generic operation actions keep their state in, named once for everyone.

The action server sets and clears them (actions/operations.py, operation_forms.py,
operation_runner.py), the importer declares them in Rasa's domain (registry/rasa_domain.py)
and the handoff keeps them from the agent (actions/handoff.py). Each of those reads its set
from ``BOOKKEEPING_SLOTS`` below, so a new slot is one row here and the sets cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The customer's explicit "yes"/"no" to a transactional request: a required slot of every form
# that has a ``confirm`` response.
CONFIRMATION_SLOT = "confirmed"
# The step-up code: a required slot of every form whose operation needs ``verification``.
VERIFICATION_CODE_SLOT = "verification_code"
# The back end's id of the step-up verification started after the yes.
VERIFICATION_ID_SLOT = "verification_id"
# Wrong answers to the current question; explained at 2, "continue or cancel?" at 3.
FAILED_ANSWERS_SLOT = "failed_answers"
# Why a form ended early (the customer cancelled, was told why, or asked for a person).
FORM_CANCELLED_SLOT = "form_cancelled"
# The idempotency key of an attempt whose outcome is unknown (the back end did not answer),
# with the request it belongs to: only the same request, tried again, reuses it.
OPERATION_KEY_SLOT = "operation_key"
# The back end's offer (fees, rate, monthly amount) shown in the confirmation question.
QUOTE_SLOT = "operation_quote"
# The request exactly as the confirmation question showed it; what runs must equal it.
REQUEST_SLOT = "operation_request"
# Set when the operation was carried out (or refused) as the code was verified.
OUTCOME_SLOT = "operation_outcome"
# Whether the request just prepared may go ahead; the rules start its form only when it may.
OPERATION_REFUSED_SLOT = "operation_refused"
# Rasa's own: the question a form is asking, and what the channel sent at session start.
REQUESTED_SLOT = "requested_slot"
SESSION_METADATA_SLOT = "session_started_metadata"


@dataclass(frozen=True)
class BookkeepingSlot:
    """One slot of the generic actions' state.

    ``rasa_type``: the type the importer declares it with (with a custom mapping); None when
    something else declares it (Rasa itself, or the forms, which map the confirmation and
    the code). ``per_request``: cleared whenever a request starts or ends, so nothing of one
    request leaks into the next. ``shown_to_agent``: sent to the agent desk with a handoff.
    """

    name: str
    rasa_type: str | None = "text"
    initial_value: Any = None
    influence_conversation: bool = False
    per_request: bool = True
    shown_to_agent: bool = False


BOOKKEEPING_SLOTS: tuple[BookkeepingSlot, ...] = (
    # The key outlives its request: a retry of the same request after an outage reuses it.
    BookkeepingSlot(OPERATION_KEY_SLOT, per_request=False),
    BookkeepingSlot(FAILED_ANSWERS_SLOT, rasa_type="float", initial_value=0.0),
    BookkeepingSlot(FORM_CANCELLED_SLOT),
    BookkeepingSlot(VERIFICATION_ID_SLOT),
    BookkeepingSlot(QUOTE_SLOT),
    BookkeepingSlot(REQUEST_SLOT),
    BookkeepingSlot(OUTCOME_SLOT),
    # The one the rules read: whether the form starts.
    BookkeepingSlot(
        OPERATION_REFUSED_SLOT,
        rasa_type="bool",
        initial_value=False,
        influence_conversation=True,
        per_request=False,
    ),
    # What the customer said yes to helps the agent; the code never leaves the conversation.
    BookkeepingSlot(CONFIRMATION_SLOT, rasa_type=None, shown_to_agent=True),
    BookkeepingSlot(VERIFICATION_CODE_SLOT, rasa_type=None),
    BookkeepingSlot(REQUESTED_SLOT, rasa_type=None, per_request=False),
    BookkeepingSlot(SESSION_METADATA_SLOT, rasa_type=None, per_request=False),
)

# Cleared when a request starts or ends (after the operation's own slots).
PER_REQUEST_SLOTS: tuple[str, ...] = tuple(
    slot.name for slot in BOOKKEEPING_SLOTS if slot.per_request
)
# Never sent to the agent desk: codes, tokens, and state that means nothing to a person.
PRIVATE_SLOTS: frozenset[str] = frozenset(
    slot.name for slot in BOOKKEEPING_SLOTS if not slot.shown_to_agent
)


def domain_declarations() -> dict[str, dict[str, Any]]:
    """The bookkeeping slots the importer adds to Rasa's domain, as domain slot entries."""
    declared: dict[str, dict[str, Any]] = {}
    for slot in BOOKKEEPING_SLOTS:
        if slot.rasa_type is None:
            continue
        entry: dict[str, Any] = {"type": slot.rasa_type}
        if slot.initial_value is not None:
            entry["initial_value"] = slot.initial_value
        entry["influence_conversation"] = slot.influence_conversation
        entry["mappings"] = [{"type": "custom"}]
        declared[slot.name] = entry
    return declared
