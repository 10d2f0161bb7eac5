"""Opening hours: whether people are at the desk now, and when they next are.

Hours are wall-clock times in the desk's time zone (`08:00-22:00`; `00:00-24:00` is all day; an
end before the start runs past midnight). Days name the days a window opens (`mon-fri`,
`sat,sun`); a window opened late on Friday may run into Saturday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class OpeningHours:
    days: frozenset[int]
    start_minute: int
    length_minutes: int
    zone: tzinfo

    @classmethod
    def parse(cls, hours: str, days: str, zone: tzinfo) -> OpeningHours:
        match = HOURS_PATTERN.match(hours.replace(" ", ""))
        if not match:
            raise ValueError(f"opening hours must read HH:MM-HH:MM, not {hours!r}")
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start_m > 59 or end_m > 59 or start >= MINUTES_PER_DAY or end > MINUTES_PER_DAY:
            raise ValueError(f"opening hours out of range: {hours!r}")
        if start == end:
            raise ValueError(f"opening hours open and close at once: {hours!r}")
        length = end - start if end > start else end + MINUTES_PER_DAY - start
        return cls(parse_days(days), start, length, zone)

    def _windows_around(self, moment: datetime, days_ahead: int) -> list[datetime]:
        """Window starts from the day before `moment` to `days_ahead` days after it."""
        local_day = moment.astimezone(self.zone).date()
        starts = []
        for offset in range(-1, days_ahead + 1):
            day = local_day + timedelta(days=offset)
            if day.weekday() in self.days:
                midnight = datetime.combine(day, time(), tzinfo=self.zone)
                starts.append(midnight + timedelta(minutes=self.start_minute))
        return starts

    def is_open(self, moment: datetime) -> bool:
        length = timedelta(minutes=self.length_minutes)
        return any(
            start <= moment < start + length for start in self._windows_around(moment, days_ahead=0)
        )

    def next_opening(self, moment: datetime) -> datetime | None:
        """The start of the next window after `moment`, in the desk's zone; None if never."""
        later = [start for start in self._windows_around(moment, days_ahead=7) if start > moment]
        return min(later) if later else None


def parse_days(days: str) -> frozenset[int]:
    chosen: set[int] = set()
    for part in days.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"opening days must read like mon-fri or sat,sun, not {days!r}")
        start = DAY_NAMES.index(first)
        end = DAY_NAMES.index(last) if last else start
        # fri-mon wraps over the weekend.
        chosen.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    return frozenset(chosen)
