"""The generic actions' own slots are named once; every list of them is derived from that."""

from __future__ import annotations

from registry.slots import (
    BOOKKEEPING_SLOTS,
    CONFIRMATION_SLOT,
    OPERATION_KEY_SLOT,
    PER_REQUEST_SLOTS,
    PRIVATE_SLOTS,
    QUOTE_SLOT,
    REQUESTED_SLOT,
    SESSION_METADATA_SLOT,
)


def test_a_quote_never_goes_to_the_agent_desk():
    assert QUOTE_SLOT == "operation_quote"
    assert QUOTE_SLOT in PRIVATE_SLOTS


def test_only_what_the_customer_said_yes_to_is_shown_to_the_agent():
    assert {slot.name for slot in BOOKKEEPING_SLOTS} - PRIVATE_SLOTS == {CONFIRMATION_SLOT}


def test_the_key_of_an_attempt_with_an_unknown_outcome_outlives_its_request():
    assert OPERATION_KEY_SLOT not in PER_REQUEST_SLOTS


def test_every_bookkeeping_slot_is_in_the_trained_domain_and_never_a_feature_but_one(domain_dict):
    slots = domain_dict["slots"]
    rasas_own = {REQUESTED_SLOT, SESSION_METADATA_SLOT}
    declared = [slot for slot in BOOKKEEPING_SLOTS if slot.name not in rasas_own]

    assert all(slot.name in slots for slot in declared)
    assert [slot.name for slot in declared if slots[slot.name]["influence_conversation"]] == [
        "operation_refused"
    ]
