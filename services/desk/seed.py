"""The demo agents and the demo supervisor, made at start in the embedded profile so a
newcomer can sign in to the console and the supervisors' page."""

from __future__ import annotations

from sqlalchemy import select

from common.clock import new_id, utcnow
from services.desk.db import DeskDatabase
from services.desk.models import ALL_SKILLS, Agent
from services.desk.passwords import hash_password, new_salt

# username, display name, skills, supervisor
DEMO_AGENTS = (
    ("agent", "Lin", [ALL_SKILLS], False),
    ("cards", "Zhou", ["bank", "payments"], False),
    # Watches the figures; takes no chats, so routing never counts on them.
    ("lead", "Chen", [], True),
)


async def seed_demo_agents(db: DeskDatabase, password: str) -> None:
    """Adds the demo agents that are missing, so a demo database from before the supervisor
    gets one too; an existing agent is left as it is."""
    async with db.writing() as session:
        existing = set((await session.execute(select(Agent.username))).scalars())
        for username, display_name, skills, supervisor in DEMO_AGENTS:
            if username in existing:
                continue
            salt = new_salt()
            session.add(
                Agent(
                    id=new_id("A"),
                    username=username,
                    display_name=display_name,
                    password_salt=salt,
                    password_hash=hash_password(password, salt),
                    skills=skills,
                    supervisor=supervisor,
                    created_at=utcnow(),
                )
            )
