"""Clients for the services every process talks to: the product back ends and the agent desk."""
