"""Clock arithmetic for deadlines: calendar time, or working time on China's working days.

Working days come from the ``chinese_calendar`` package (public holidays and the 调休 make-up working
days as the State Council publishes them). A year the package does not know yet falls back to plain
Monday-to-Friday with one warning per year, so deadlines keep running instead of failing.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import chinese_calendar

from config.schedule import Clock, HoursWindow

log = logging.getLogger(__name__)

MAX_DAYS = 3_660
"""A working-time deadline further away than this (ten years of days) is a configuration error."""


@functools.lru_cache(maxsize=8_192)
def is_workday(day: date) -> bool:
    """True on a Chinese working day (调休 Saturdays included, public holidays excluded)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


@functools.lru_cache(maxsize=64)
def _warn_uncovered(year: int) -> None:
    log.warning(
        "the chinese_calendar package has no holiday data for %d; counting Monday to Friday as working days "
        "(upgrade chinese-calendar once the State Council publishes the year's schedule)",
        year,
    )


class WorkCalendar:
    """Adds spans of calendar or working time to instants, in the community's time zone."""

    def __init__(self, tz: tzinfo, hours: HoursWindow) -> None:
        self.tz = tz
        self.hours = hours

    def _day_window(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.hours.start, tzinfo=self.tz).astimezone(UTC)
        if self.hours.end == time.max:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)
        else:
            end = datetime.combine(day, self.hours.end, tzinfo=self.tz).astimezone(UTC)
        return start, end

    def add(self, start: datetime, span: timedelta, clock: Clock) -> datetime:
        """The instant ``span`` after ``start`` on ``clock`` (UTC-aware)."""
        start = start.astimezone(UTC)
        if clock is Clock.CALENDAR:
            return start + span
        remaining = span
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS):
            if is_workday(day):
                open_, close = self._day_window(day)
                cursor = max(open_, start)
                if cursor < close:
                    available = close - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"a working-time span of {span} does not end within {MAX_DAYS} days")
