"""The Rasa server's remembered lookup of event classes (channels/event_types.py) answers as
Rasa's own does for every event Rasa knows, and for names it does not."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

import channels  # noqa: F401  (installs the lookup, as the Rasa server does)
from channels.event_types import _RASAS_LOOKUP


def test_every_event_type_resolves_to_the_class_rasas_own_lookup_finds():
    assert Event.resolve_by_type is not _RASAS_LOOKUP, "the channels installed the lookup"
    names = {cls.type_name for cls in all_subclasses(Event)}

    assert len(names) > 15
    for name in sorted(names):
        assert Event.resolve_by_type(name) is _RASAS_LOOKUP(name), name
        assert Event.resolve_by_type(name) is _RASAS_LOOKUP(name), f"{name}, remembered"


def test_an_unknown_type_raises_or_gives_the_default_as_before():
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None


def test_events_read_back_from_their_dicts_are_the_events_written():
    written = [UserUttered("hello", {"name": "greet", "confidence": 0.9}), SlotSet("x", 1)]

    assert [Event.from_parameters(event.as_dict()) for event in written] == written
