"""Request bodies of the desk's API, as the action server, the Rasa server and the console send
them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, validator

from services.desk.models import SKILLS

MAX_AGENT_MESSAGE_CHARS = 2000


class TranscriptLineIn(BaseModel):
    author: Literal["customer", "bot"]
    text: str
    timestamp: float
    message_id: str | None = Field(None, max_length=128)


class IntentIn(BaseModel):
    name: str
    description: str | None = None
    confidence: float | None = None


class HandoffIn(BaseModel):
    conversation_id: str = Field(..., min_length=1, max_length=255)
    customer_id: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=64)
    skill: str
    reason: Literal["customer_request", "repeated_fallback", "policy", "backend_outage"]
    reason_detail: str = ""
    customer_name: str | None = Field(None, max_length=200)
    transcript: list[TranscriptLineIn] = []
    intents: list[IntentIn] = []
    slots: dict[str, Any] = {}
    profile: dict[str, Any] | None = None

    @validator("skill")
    def known_skill(cls, skill: str) -> str:
        if skill not in SKILLS:
            raise ValueError(f"skill must be one of {', '.join(SKILLS)}")
        return skill


class CustomerMessageIn(BaseModel):
    message_id: str = Field(..., min_length=1, max_length=128)
    text: str
    timestamp: float


class PresenceIn(BaseModel):
    present: bool


class RatingIn(BaseModel):
    rating: int = Field(..., ge=1, le=5)


class AgentMessageIn(BaseModel):
    text: str

    @validator("text")
    def sayable(cls, text: str) -> str:
        text = text.strip()
        if not text:
            raise ValueError("the message is empty")
        if len(text) > MAX_AGENT_MESSAGE_CHARS:
            raise ValueError(f"at most {MAX_AGENT_MESSAGE_CHARS} characters")
        return text
