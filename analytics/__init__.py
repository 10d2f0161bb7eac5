"""The service's own figures: Rasa's events, read from its event broker, become sessions and
the KPIs supervisors read (python -m analytics serves them; analytics.kpis computes them).

Nothing but tooling, bench and tests imports this package; the desk reads it over HTTP
(clients/analytics.py).
"""
