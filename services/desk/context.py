"""What every desk operation works with, built once per application."""

from __future__ import annotations

from dataclasses import dataclass

from clients.analytics import AnalyticsClient
from services.desk.db import DeskDatabase
from services.desk.hours import OpeningHours
from services.desk.live import LiveHub
from services.desk.outbox import OutboxWorker
from services.desk.rasa_client import RasaClient
from services.desk.settings import DeskSettings


@dataclass
class Desk:
    settings: DeskSettings
    db: DeskDatabase
    hub: LiveHub
    rasa: RasaClient
    outbox: OutboxWorker
    hours: OpeningHours
    # None when the desk has no analytics secret: the supervisors' page then says so.
    analytics: AnalyticsClient | None = None
