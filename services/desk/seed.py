"""The demo agents, made on the first start so a newcomer can sign in to the console."""

from __future__ import annotations

from sqlalchemy import func, select

from common.clock import new_id, utcnow
from services.desk.db import DeskDatabase
from services.desk.models import ALL_SKILLS, Agent
from services.desk.passwords import hash_password, new_salt

DEMO_AGENTS = (
    ("agent", "Lin", [ALL_SKILLS]),
    ("cards", "Zhou", ["bank", "payments"]),
)


async def seed_agents_if_empty(db: DeskDatabase, password: str) -> None:
    async with db.writing() as session:
        if (await session.execute(select(func.count()).select_from(Agent))).scalar_one():
            return
        for username, display_name, skills in DEMO_AGENTS:
            salt = new_salt()
            session.add(
                Agent(
                    id=new_id("A"),
                    username=username,
                    display_name=display_name,
                    password_salt=salt,
                    password_hash=hash_password(password, salt),
                    skills=skills,
                    created_at=utcnow(),
                )
            )
