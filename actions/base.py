"""The base of every action that talks to the back end or the desk.

rasa-sdk makes each action once, with no arguments: it then runs with the action server's own
back-end client, handoff connector and settings. A test hands it its own instead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action

from actions.backend_access import shared_backend_client
from actions.handoff_connector import HandoffConnector, shared_connector
from clients.backend import BackendClient
from common.assistant_settings import ActionServerSettings, action_server_settings


class AssistantAction(Action, ABC):
    def __init__(
        self,
        client: BackendClient | None = None,
        connector: HandoffConnector | None = None,
        settings: ActionServerSettings | None = None,
    ) -> None:
        self._client = client
        self._connector = connector
        self._settings = settings

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""

    @property
    def client(self) -> BackendClient:
        return self._client or shared_backend_client()

    @property
    def connector(self) -> HandoffConnector:
        return self._connector or shared_connector()

    @property
    def settings(self) -> ActionServerSettings:
        return self._settings or action_server_settings()
