"""What the assistant offers when a signed-in customer's chat opens: the questions they most
likely came with, at most three, each a button that starts its flow.

The proactive model (proactive/) ranks every question from the customer's profile and recent
back-end events (read through the back end's client, proactive/live.py) and the requests their
past sessions opened with (read from the analytics service). An offered question that follows
one of the customer's recent events with a proactive scenario (capabilities/<line>.yml) is
worded with that event's item ("Your 120.00 CNY payment to City Water failed yesterday: see
why?") and its button starts the operation on that item; any other is the question's own
description and its button the bare intent. Nothing likely enough, an anonymous chat, a model
that is missing, or a back end that cannot answer in time: the usual greeting, without offers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_access import signed_in_customer
from actions.base import AssistantAction
from actions.handoff_connector import HandoffConnector
from actions.proactive_wording import word_scenario
from clients.analytics import AnalyticsClient, AnalyticsError
from clients.backend import BackendClient, BackendError
from common.assistant_settings import ActionServerSettings
from common.clock import utcnow
from proactive.features import EVENT_WINDOW
from proactive.history import utc_naive
from proactive.live import CONVERSATIONS_KEPT, EVENTS_PATH, EVENTS_READ, opening_moment
from proactive.model import MODEL_PATH, Offer, ProactiveModel, load
from registry.catalogue import Catalogue, default_catalogue

logger = logging.getLogger(__name__)

OFFERS_RESPONSE = "utter_likely_questions"
GREETING_RESPONSE = "utter_greet"
# The most the greeting waits for what the offers are made from (the back end's profile,
# events and items, the analytics service's past questions); then it is said without them.
OPENING_SECONDS = 2.5


@dataclass(frozen=True)
class LikelyQuestion:
    """One offer as the customer sees it: the button's title and what pressing it sends."""

    question: str
    title: str
    payload: str


class ModelLoader:
    """The proactive model from the model cache, loaded the first time a chat opens, once per
    process and off the event loop (unpickling it takes a while); a file that is missing or
    cannot be used is said once in the log, and chats then open without offers."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._done = False
        self._model: ProactiveModel | None = None

    async def model(self) -> ProactiveModel | None:
        if self._done:
            return self._model
        return await asyncio.to_thread(self._load)

    def _load(self) -> ProactiveModel | None:
        with self._lock:
            if not self._done:
                try:
                    self._model = load(self._path)
                except FileNotFoundError:
                    logger.warning(
                        "no proactive model at %s: chats open without offers "
                        "(python -m tooling.model_cache trains it)",
                        self._path,
                    )
                except Exception as error:  # unpickling raises whatever the file holds
                    logger.warning(
                        "the proactive model at %s cannot be used (%s): chats open without "
                        "offers (python -m tooling.model_cache trains it again)",
                        self._path,
                        error,
                    )
                self._done = True
            return self._model


_shared_loader = ModelLoader()


class ActionOfferLikelyQuestions(AssistantAction):
    def __init__(
        self,
        client: BackendClient | None = None,
        connector: HandoffConnector | None = None,
        settings: ActionServerSettings | None = None,
        *,
        models: ModelLoader | None = None,
        analytics: AnalyticsClient | None = None,
        clock: Callable[[], datetime] = utcnow,
        catalogue: Catalogue | None = None,
    ) -> None:
        super().__init__(client, connector, settings)
        self._models = models or _shared_loader
        self._analytics = analytics
        self._analytics_built = analytics is not None
        self._clock = clock
        self._catalogue = catalogue

    def name(self) -> str:
        return "action_offer_likely_questions"

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue or default_catalogue()

    def analytics(self) -> AnalyticsClient | None:
        """The analytics service's client, made once from the settings; None when the action
        server has no analytics service configured."""
        if not self._analytics_built:
            link = self.settings.analytics
            if link is None:
                logger.info("no analytics service configured: offers use no past questions")
            else:
                self._analytics = AnalyticsClient(
                    link.url, link.secret, timeout_seconds=link.timeout_seconds
                )
            self._analytics_built = True
        return self._analytics

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        customer_id = signed_in_customer(tracker)
        offers: list[LikelyQuestion] = []
        if customer_id is not None:
            try:
                offers = await asyncio.wait_for(self.likely_questions(customer_id), OPENING_SECONDS)
            except asyncio.TimeoutError:
                logger.warning(
                    "offers for %s not ready in %s s: greeting without them",
                    customer_id,
                    OPENING_SECONDS,
                )
            except BackendError as error:
                logger.warning("no offers for %s: %s", customer_id, error)
        if not offers:
            dispatcher.utter_message(response=GREETING_RESPONSE)
            return []
        dispatcher.utter_message(
            response=OFFERS_RESPONSE,
            buttons=[{"title": offer.title, "payload": offer.payload} for offer in offers],
        )
        return []

    async def likely_questions(self, customer_id: str) -> list[LikelyQuestion]:
        """The customer's likeliest questions now, best first, worded; none when nothing is
        likely enough. Raises BackendError when the back end cannot say who they are or
        what happened to them."""
        model = await self._models.model()
        if model is None:
            return []
        now = self._clock()
        past, listed, profile = await asyncio.gather(
            self._past_questions(customer_id, model),
            self.client.call(customer_id, "GET", EVENTS_PATH, params={"limit": EVENTS_READ}),
            self.client.get_profile(customer_id),
        )
        events = listed["events"]
        # The back end's clock may run ahead of this server's: what it lists has happened, so
        # the chat opens no earlier than its newest event (an event "in the future" would
        # otherwise be no feature at all).
        now = max([now, *(_occurred_at(event) for event in events)])
        # The reads just made answer these again (the client keeps a turn's reads).
        moment = await opening_moment(self.client, customer_id, past, now)
        # Scoring takes tens of milliseconds on a busy machine: in a thread, so the other
        # conversations' actions do not wait for it.
        offered = await asyncio.to_thread(model.offers, moment)
        return list(
            await asyncio.gather(
                *(self._worded(customer_id, offer, events, now, profile) for offer in offered)
            )
        )

    async def _past_questions(
        self, customer_id: str, model: ProactiveModel
    ) -> list[tuple[datetime, str]]:
        """The requests the customer's past sessions opened with, as far back as the model
        learnt to weigh them; none (logged) when the analytics service cannot say."""
        analytics = self.analytics()
        if analytics is None:
            return []
        try:
            found = await analytics.past_questions(customer_id, CONVERSATIONS_KEPT.days)
        except AnalyticsError as error:
            logger.warning(
                "past questions of %s unavailable, offering without them: %s", customer_id, error
            )
            return []
        # The model knows the questions it was trained on; a request it never saw tells it
        # nothing (its training sessions each asked one of its questions).
        known = set(model.questions)
        return [(opened_at, question) for opened_at, question in found if question in known]

    async def _worded(
        self,
        customer_id: str,
        offer: Offer,
        events: Sequence[dict[str, Any]],
        now: datetime,
        profile: dict[str, Any],
    ) -> LikelyQuestion:
        """The offer in the customer's words: the newest recent event the question follows
        (by its scenario) words it with its item; else the question's description."""
        for event in events:  # newest first, as the back end lists them
            scenario = self.catalogue.scenarios.get(str(event.get("kind")))
            if scenario is None or scenario.question != offer.question:
                continue
            if now - _occurred_at(event) > EVENT_WINDOW:
                break
            try:
                worded = await word_scenario(
                    self.client, customer_id, scenario, event, now, profile
                )
            except BackendError as error:
                logger.warning(
                    "offer %s not worded (%s): offered by its description", offer.question, error
                )
                break
            return LikelyQuestion(offer.question, worded.offer, worded.payload)
        title = self.catalogue.describe(offer.question) or offer.question.replace("_", " ")
        return LikelyQuestion(offer.question, title, f"/{offer.question}")


def _occurred_at(event: dict[str, Any]) -> datetime:
    return utc_naive(str(event["occurred_at"]))
