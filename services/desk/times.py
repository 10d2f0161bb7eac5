"""Conversions between the naive-UTC rows, Rasa's epoch timestamps and zoned ISO-8601 text."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo


def from_epoch(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def to_epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=timezone.utc).timestamp()


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def local_iso(moment: datetime | None, zone: tzinfo) -> str | None:
    """A stored moment as the desk's local time with its offset, e.g. 2025-01-06T09:00:00+08:00."""
    if moment is None:
        return None
    return aware(moment).astimezone(zone).isoformat(timespec="seconds")
