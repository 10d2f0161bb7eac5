"""The desk's HTTP routes: the service API, the agents' JSON API, and the console."""
