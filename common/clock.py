"""Time and identifiers in one place, so every row of the services' databases uses naive UTC
and the same id style."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:16].upper()}"
