"""The Rasa server's direct slot copy makes what copy.copy's pickling protocol made of every
slot of the assistant's domain, and the copy is the tracker's own."""

from __future__ import annotations

import copy

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

from channels.slot_copies import copy_slots_directly


def copied_by_the_pickling_protocol(slot: Slot) -> Slot:
    """What copy.copy made of a slot before the direct copy (it has no __copy__ of its own)."""
    return copy._reconstruct(slot, None, *slot.__reduce_ex__(4))  # type: ignore[attr-defined]


def test_every_slot_is_copied_as_copy_copy_did(project_domain: Domain) -> None:
    copy_slots_directly()
    assert project_domain.slots
    for original in project_domain.slots:
        # A slot holding a value, without touching the shared domain's.
        slot = copied_by_the_pickling_protocol(original)
        if slot.type_name in ("text", "any"):
            slot.value = "a value"
        twin = copy.copy(slot)
        expected = copied_by_the_pickling_protocol(slot)
        assert twin is not slot
        assert type(twin) is type(expected)
        assert vars(twin) == vars(expected)


def test_a_trackers_slots_are_its_own(project_domain: Domain) -> None:
    copy_slots_directly()
    first = DialogueStateTracker("first", project_domain.slots)
    second = DialogueStateTracker("second", project_domain.slots)
    name = next(slot.name for slot in project_domain.slots if slot.type_name == "text")
    first.update(SlotSet(name, "only the first's"))
    assert first.get_slot(name) == "only the first's"
    assert second.get_slot(name) != "only the first's"
    assert next(s for s in project_domain.slots if s.name == name).value != "only the first's"
