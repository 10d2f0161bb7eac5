"""The Rasa server's customer-facing channels; Rasa imports this package with any of them
(credentials.yml), so what the Rasa server process changes in Rasa itself is done here, once."""

from channels.action_connections import keep_action_server_connections
from channels.action_results import check_action_results_with_a_compiled_schema
from channels.event_types import resolve_event_types_once
from channels.slot_copies import copy_slots_directly

check_action_results_with_a_compiled_schema()
keep_action_server_connections()
resolve_event_types_once()
copy_slots_directly()
