"""The desk's tables: agents, handoffs, the messages of a handoff, and the outbox to Rasa.

Timestamps are naive UTC, as in the sandbox.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()

SKILLS = (
    "general",
    "payments",
    "bank",
    "credit",
    "insurance",
    "wealth",
    "score",
    "international",
    "security",
)
# An agent with this skill serves every queue.
ALL_SKILLS = "all"

QUEUED, ASSIGNED, RESOLVED, TICKET = "queued", "assigned", "resolved", "ticket"
OPEN_STATUSES = (QUEUED, ASSIGNED)


class Agent(Base):
    __tablename__ = "agents"

    id = Column(String(24), primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_salt = Column(String(64), nullable=False)
    password_hash = Column(String(128), nullable=False)
    skills = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False)
    # Supervisors also see the service's figures (/console/supervisor).
    supervisor = Column(Boolean, nullable=False, default=False, server_default=false())

    def serves(self, skill: str) -> bool:
        return serves(self.skills, skill)


class AgentSession(Base):
    """One console sign-in; the cookie names it, so signing out ends it on the server too."""

    __tablename__ = "agent_sessions"

    id = Column(String(48), primary_key=True)
    agent_id = Column(String(24), ForeignKey("agents.id"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    revoked_at = Column(DateTime)


def serves(skills: list[str], skill: str) -> bool:
    return ALL_SKILLS in skills or skill in skills


class Handoff(Base):
    __tablename__ = "handoffs"

    id = Column(String(24), primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    customer_id = Column(String(64))
    customer_name = Column(String(200))
    channel = Column(String(64))
    skill = Column(String(32), nullable=False)
    reason = Column(String(32), nullable=False)
    reason_detail = Column(Text, nullable=False, default="")
    intents = Column(JSON, nullable=False)
    slots = Column(JSON, nullable=False)
    profile = Column(JSON)
    summary = Column(Text, nullable=False)
    status = Column(String(16), nullable=False)
    agent_id = Column(String(24), ForeignKey("agents.id"))
    ticket_reason = Column(String(16))
    callback_due_at = Column(DateTime)
    opens_at = Column(DateTime)
    # FIFO order of a queue; a conversation an agent dropped goes back to this place.
    created_at = Column(DateTime, nullable=False)
    assigned_at = Column(DateTime)
    resolved_at = Column(DateTime)
    customer_present = Column(Boolean, nullable=False, default=True)
    # The queue position the customer was last told, so a notice goes out only on a change.
    notified_position = Column(Integer)
    rating = Column(Integer)

    __table_args__ = (
        # At most one open handoff per conversation, enforced by the database itself so that two
        # simultaneous requests for one conversation cannot both open one.
        Index(
            "one_open_handoff_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=status.in_(OPEN_STATUSES),
            postgresql_where=status.in_(OPEN_STATUSES),
        ),
        Index("queue_order", "status", "skill", "created_at"),
    )


class HandoffMessage(Base):
    """One line of a handoff's transcript: customer, bot (the assistant), agent or system."""

    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    handoff_id = Column(String(24), ForeignKey("handoffs.id"), nullable=False)
    # Rasa's message id for a customer's message, the desk's own for what the desk sends.
    message_id = Column(String(128))
    author = Column(String(16), nullable=False)
    agent_name = Column(String(100))
    text = Column(Text, nullable=False)
    at = Column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("handoff_id", "message_id", name="message_once_per_handoff"),
        Index("transcript_order", "handoff_id", "at", "id"),
    )


class OutboxItem(Base):
    """A call the desk owes the Rasa server, kept until Rasa has taken it."""

    __tablename__ = "outbox"

    # Delivery order within a conversation.
    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(255), nullable=False)
    handoff_id = Column(String(24), ForeignKey("handoffs.id"), nullable=False)
    action = Column(String(16), nullable=False)
    payload = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False)
    delivered_at = Column(DateTime)
    # What Rasa said it did with a relayed message (pushed, customer_offline, recorded_only).
    delivery = Column(String(32))
    # Set when Rasa refused the call for good, so it no longer holds up the conversation.
    abandoned_at = Column(DateTime)
    last_error = Column(Text)

    __table_args__ = (Index("outbox_pending", "delivered_at", "abandoned_at", "id"),)
