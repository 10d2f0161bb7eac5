"""One synthetic customer's conversation with the running assistant, as a person would have it.

The customer opens with their goal in their own words (bench/simulator_words.py), then reacts
to what the assistant says: presses the buttons that fit (their card, their recipient, the
closest of "did you mean"), answers the form's questions, says yes to the confirmation, types
the code their phone got, rephrases when not understood and, if they are that sort of person,
asks for someone after a second misunderstanding; some change their mind half-way, some ask
something else mid-flow, some leave before the end. After an answer they may say thanks, and
they rate the service when asked, kindly or not depending on whether they got what they came
for. ``Chat`` is the wire: sending, the phone and the back end, so tests can fake it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.simulator_goals import Case, Goal, Snapshot, Transcript, Turn, Verdict, opener_slots
from bench.simulator_words import Voice

MAX_MESSAGES = 16
CODE_ASKED = ("6-digit code", "waiting for the security code", "code doesn't match")
NOT_UNDERSTOOD = (
    "didn't catch that",
    "didn't get that",
    "not sure I understood",
    "can't use that as an answer",
)
NOT_SERVED = "not something I can help with"
FORM_REASKS = "can't use that as an answer"
CONFIRMATION = ("Shall I", "Go ahead?", "Shall we continue")
CLOSING = ("Is there anything else", "anything else I can do")
# Questions that end a request rather than ask for something inside one.
OPEN_QUESTIONS = (
    *CLOSING,
    "What would you like to do",
    "What can I do for you",
    "How can I help",
    "help with?",
)
PERSON_OFFER_PAYLOAD = "/request_human"
YES_PAYLOAD = "/affirm"
RATING_PAYLOAD = "/rate_service"
# How a customer rates, by whether they got what they came for (1 to 5 stars).
RATING_WEIGHTS = {True: (2, 3, 7, 28, 60), False: (30, 25, 20, 15, 10)}
RATING_ANSWERED = {True: 0.7, False: 0.5}

ASK_PERSON = (
    "{can i|let me} {talk to|speak with} {a person|someone real|an agent}{ please|}",
    "{this isnt|this is not} working, {get me|i want} a human",
)
SIDE_QUESTIONS = (
    "{wait|oh|btw}{,|} {what|which} products do i have with you{?|}",
    "{hang on|wait}{,|} what's my credit score{?|}",
)
CANCEL = ("{actually|wait|hmm}{,|} {cancel that|forget it|stop}", "no {wait|stop}, cancel")
RESTART = ("{sorry|ok}{,|} {i do want it after all|let's do it after all}{:|,} ", "{actually|ok} ")
THANKS = ("{thanks|thank you|thx}{!|}", "{great|ok}{,|} {thanks|cheers}", "{bye|thanks bye}")
NO_MORE = ("no {thats all|that's it}{, bye|}", "{nope|no} thanks")
# A comment after the stars, by whether the stars were 4 or 5.
COMMENTS = {
    True: (
        "{it was|that was} {quick|fast} and {easy|clear}{, thanks|}",
        "the answer was {clear|exactly what i needed}",
        "{nice|good} that i didnt have to {call|wait on the phone}",
    ),
    False: (
        "{it|the bot} {didnt|did not} {understand|get} what i {asked|wanted}",
        "{too many|so many} questions for a simple {thing|request}",
        "i {still|} {dont|do not} know {what happened|where my money is}",
    ),
}


def is_request(payload: str) -> bool:
    """A button that names a request ("/credit_bill"), not an answer with its value."""
    return payload.startswith("/") and "{" not in payload


class Chat(Protocol):
    """Where the customer's messages go and where their phone and accounts are."""

    def send(self, message: str) -> list[dict[str, Any]]: ...

    def latest_code(self) -> str | None: ...

    def snapshot(self) -> Snapshot: ...


@dataclass(frozen=True)
class Habits:
    """What this customer does besides asking: drawn once per conversation."""

    greets_first: bool
    changes_mind: bool
    asks_on_the_way: bool
    asks_for_person_when_lost: bool
    leaves_half_way: bool
    thanks_at_the_end: bool

    @classmethod
    def draw(cls, rng: random.Random) -> Habits:
        return cls(
            greets_first=rng.random() < 0.2,
            changes_mind=rng.random() < 0.08,
            asks_on_the_way=rng.random() < 0.12,
            asks_for_person_when_lost=rng.random() < 0.5,
            leaves_half_way=rng.random() < 0.04,
            thanks_at_the_end=rng.random() < 0.4,
        )

    def names(self) -> list[str]:
        return [name for name, value in vars(self).items() if value]


@dataclass
class Outcome:
    goal: str
    line: str
    in_scope: bool
    customer: str
    met: bool
    reason: str
    habits: list[str]
    transcript: Transcript
    handed_off: bool = False
    left_half_way: bool = False
    rating: int | None = None
    rating_asked: bool = False
    misunderstood: int = 0
    error: str | None = None
    came_back: bool = False  # about a goal not met in an earlier conversation of the run


@dataclass
class Conversation:
    goal: Goal
    particulars: dict[str, Any]
    customer: str
    chat: Chat
    rng: random.Random
    voice: Voice
    habits: Habits
    transcript: Transcript = field(default_factory=Transcript)
    misunderstood: int = 0
    rating: int | None = None
    rating_asked: bool = False
    left_half_way: bool = False
    _side_trips: int = 0
    _side_question_asked: bool = False

    def say(self, templates: tuple[str, ...], slots: dict[str, str] | None = None) -> str:
        return self.voice.say(templates, self.rng, slots)

    def send(self, message: str) -> list[Turn]:
        self.transcript.turns.append(Turn("customer", message))
        replies = [
            Turn(
                "assistant",
                reply.get("text") or "",
                tuple(reply.get("buttons") or ()),
            )
            for reply in self.chat.send(message)
        ]
        self.transcript.turns.extend(replies)
        return replies

    def sent(self) -> list[str]:
        return [turn.text for turn in self.transcript.turns if turn.speaker == "customer"]

    def opener(self, plain: bool = False) -> str:
        slots = opener_slots(self.particulars, self.rng)
        if plain:  # a rephrasing: slower, more careful
            return self.voice.say(self.goal.openers, self.rng, slots, habits=False)
        return self.say(self.goal.openers, slots)

    def run(self, before: Snapshot) -> Outcome:
        if self.habits.greets_first:
            self.send(self.say(("{hi|hello|hey there|good morning}{!|}",)))
        replies = self.send(self.opener())
        asked_so_far: list[str] = []
        for _ in range(MAX_MESSAGES):
            message = self.next_message(replies, asked_so_far)
            if message is None:
                break
            replies = self.send(message)
        replies = self.close(replies)
        verdict = self.goal.judge(
            Case(self.goal, self.particulars, before, self.chat.snapshot(), self.transcript)
        )
        if self.rating_asked_in(replies):
            self.rate(replies, verdict)
        return self.outcome(verdict)

    # -- reacting to the assistant ---------------------------------------------------------

    def next_message(self, replies: list[Turn], asked_so_far: list[str]) -> str | None:
        """What the customer says next, or None when they are done."""
        if not replies:
            return None
        text = "\n".join(reply.text for reply in replies)
        last = replies[-1].text
        buttons = [button for reply in replies for button in reply.buttons]
        if self.transcript.handed_off():
            return None
        in_flow = last.rstrip().endswith("?") and not any(q in last for q in OPEN_QUESTIONS)
        if self._side_question_asked:
            self._side_question_asked = False
            # The answer to their aside (perhaps with the stars for it) ended the request
            # they were in: they ask for it again.
            asked_again = any(
                reply.text.rstrip().endswith("?")
                and not any(q in reply.text for q in OPEN_QUESTIONS)
                and not self.rating_asked_in([reply])
                for reply in replies
            )
            if not asked_again:
                return self.opener(plain=True)
        if any(RATING_PAYLOAD in str(b.get("payload")) for b in buttons):
            # A request is over: the customer rates (close()), unless the assistant also
            # offers, beside the stars, what they came for ("Split into instalments").
            self.rating_asked = True
            wanted = f"/{self.goal.name}"
            offered = [b.get("payload") for b in buttons]
            return wanted if wanted in offered and wanted not in self.sent() else None
        asked_so_far.append(last)
        if asked_so_far.count(last) >= 3:
            return None  # the same question a third time: the customer gives up
        if any(mark in text for mark in CODE_ASKED):
            code = self.chat.latest_code()
            return code if code else None
        if self.goal.in_scope and NOT_SERVED in text:
            # Told their request is not served when it is: they say it another way.
            return self.after_misunderstanding(buttons)
        if any(mark in text for mark in NOT_UNDERSTOOD):
            if FORM_REASKS not in text:
                return self.after_misunderstanding(buttons)
            # The flow asks its question again: the customer answers it.
            self.misunderstood += 1
        if in_flow and self.side_trip():
            return self.side_trip_message()
        # A confirmation first: it repeats the answers, which may hold a question's words.
        if any(mark in last for mark in CONFIRMATION):
            if YES_PAYLOAD in [b.get("payload") for b in buttons] and self.rng.random() < 0.6:
                return YES_PAYLOAD
            return self.say(
                ("yes", "yep{,|} go ahead", "ok do it", "sure", "yes please", "correct{,|} go on")
            )
        if buttons:
            return self.press(buttons, last)
        for words, templates in self.goal.answers:
            if words.lower() in last.lower():
                return self.say(templates, opener_slots(self.particulars, self.rng))
        return None

    def side_trip(self) -> bool:
        """Whether, at a question inside a flow, the customer does something else first."""
        if self._side_trips:
            return False
        habits = self.habits
        return habits.changes_mind or habits.asks_on_the_way or habits.leaves_half_way

    def side_trip_message(self) -> str | None:
        self._side_trips += 1
        if self.habits.leaves_half_way:
            self.left_half_way = True
            return None
        if self.habits.changes_mind:
            self.send(self.say(CANCEL))
            restart = self.voice.say(RESTART, self.rng, habits=False)
            return restart + self.opener(plain=True)
        self._side_question_asked = True
        return self.say(SIDE_QUESTIONS)

    def after_misunderstanding(self, buttons: list[dict[str, Any]]) -> str:
        self.misunderstood += 1
        if f"/{self.goal.name}" in [button.get("payload") for button in buttons]:
            return f"/{self.goal.name}"
        if self.misunderstood >= 2 and self.habits.asks_for_person_when_lost:
            return self.say(ASK_PERSON)
        return self.opener(plain=True)

    def press(self, buttons: list[dict[str, Any]], question: str) -> str | None:
        """The button this customer presses under ``question``; None for buttons that only
        suggest what to do next, after an answer, when none is what they came for."""
        payloads = [str(button.get("payload", "")) for button in buttons]
        if PERSON_OFFER_PAYLOAD in payloads and len(buttons) == 2:
            # "Would you like to talk to a person?": yes if that is the sort of customer.
            if self.habits.asks_for_person_when_lost or self.goal.name == "talk_to_person":
                return PERSON_OFFER_PAYLOAD
            return next(p for p in payloads if p != PERSON_OFFER_PAYLOAD)
        for words in self.particulars.get("press") or []:
            for button in buttons:
                if words and words in str(button.get("title", "")):
                    return str(button["payload"])
        # "Did you mean one of these?": the request the customer came with.
        if f"/{self.goal.name}" in payloads:
            return f"/{self.goal.name}"
        if "/affirm" in payloads and "/cancel" in payloads:  # "continue, or cancel?"
            return "/affirm"
        if "?" not in question:
            return None
        offers_yes_or_no = {"/affirm", "/deny", "/cancel"} & set(payloads)
        if not offers_yes_or_no and all(is_request(payload) for payload in payloads):
            # "Which one is it about?" without what they came for: they say it another way.
            return self.after_misunderstanding(buttons)
        return str(self.rng.choice(buttons)["payload"])

    # -- the end -----------------------------------------------------------------------------

    @staticmethod
    def rating_asked_in(replies: list[Turn]) -> bool:
        return any(
            RATING_PAYLOAD in str(button.get("payload"))
            for reply in replies
            for button in reply.buttons
        )

    def close(self, replies: list[Turn]) -> list[Turn]:
        """Thanks, if that is their way, once the request is over (not when they left);
        returns the assistant's last replies, where a rating may be asked."""
        if self.left_half_way or self.rating_asked_in(replies):
            return replies
        if self.habits.thanks_at_the_end and replies:
            replies = self.send(self.say(THANKS))
            if replies and any(mark in replies[-1].text for mark in CLOSING):
                replies = self.send(self.say(NO_MORE))
        return replies

    def rate(self, replies: list[Turn], verdict: Verdict) -> None:
        self.rating_asked = True
        if self.rng.random() >= RATING_ANSWERED[verdict.met]:
            return
        stars = self.rng.choices(range(1, 6), weights=RATING_WEIGHTS[verdict.met])[0]
        for reply in replies:
            for button in reply.buttons:
                payload = str(button.get("payload", ""))
                if payload.startswith(RATING_PAYLOAD) and json.loads(
                    payload[payload.index("{") :]
                ).get("rating") == str(stars):
                    self.rating = stars
                    after = self.send(payload)
                    self.comment(after, pleased=stars >= 4)
                    return

    def comment(self, replies: list[Turn], pleased: bool) -> None:
        """A few words after the stars when the assistant asks for them, sometimes."""
        if not replies or not replies[-1].text.rstrip().endswith("?"):
            return
        if any(mark in replies[-1].text for mark in CLOSING):
            return
        if self.rng.random() < 0.3:
            self.send(self.say(COMMENTS[pleased]))
        elif replies[-1].buttons:
            self.send(str(replies[-1].buttons[-1].get("payload")))
        else:
            self.send(self.say(("no", "no thanks", "nothing to add")))

    def outcome(self, verdict: Verdict) -> Outcome:
        return Outcome(
            goal=self.goal.name,
            line=self.goal.line,
            in_scope=self.goal.in_scope,
            customer=self.customer,
            met=verdict.met and not self.left_half_way,
            reason="left half-way" if self.left_half_way else verdict.reason,
            habits=self.habits.names(),
            transcript=self.transcript,
            handed_off=self.transcript.handed_off(),
            left_half_way=self.left_half_way,
            rating=self.rating,
            rating_asked=self.rating_asked,
            misunderstood=self.misunderstood,
        )
