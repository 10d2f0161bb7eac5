"""Rasa's lookup of an event's class by its type name, made once per name.

Rasa rebuilds every event it reads back from the tracker store or gets from the action server
from its type name, and finds the class by walking every subclass of Event, checking each with
``inspect.isabstract``: 38 walks a message, about 6% of the Rasa server's time in
bench/results/profile.md. The walk's answer for a name is remembered; a name it does not know
still goes to Rasa's own lookup, which raises or returns the default as before.
"""

from __future__ import annotations

from rasa.shared.core.events import Event

_RASAS_LOOKUP = Event.resolve_by_type
_found: dict[str, type[Event]] = {}


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    known = _found.get(type_name)
    if known is not None:
        return known
    try:
        found = _RASAS_LOOKUP(type_name)
    except ValueError:
        if default is not None:
            return default
        raise
    if found is not None:  # Rasa answers None for the retired "topic" events
        _found[type_name] = found
    return found


def resolve_event_types_once() -> None:
    """Installs the lookup in the Rasa server (the channels call it when Rasa loads them)."""
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
