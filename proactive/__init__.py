"""Guessing what a customer came to ask before they ask it (issue 20's offline half).

A model learned from customers' histories (profile, back-end events, past questions) ranks the
questions of the assistant's catalogue for a session that is opening; `python -m proactive.train`
trains and evaluates it on held-out customers and writes it to the model cache.
"""
