"""The human agents' desk: queue, routing, the agents' console, and the way back to Rasa."""
