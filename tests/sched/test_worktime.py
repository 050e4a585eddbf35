"""Working-time deadlines on China's calendar, read from the chinese_calendar package."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from config.schedule import Clock, HoursWindow
from handlers import worktime
from handlers.worktime import WorkCalendar
from tests.sched.conftest import at

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHOLE_DAY = HoursWindow.model_validate({"start": "00:00", "end": "24:00"})
OFFICE = HoursWindow.model_validate({"start": "08:30", "end": "17:30"})


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_national_day_2026_pauses_the_working_clock() -> None:
    holiday = [d for d in days(date(2026, 10, 1), date(2026, 10, 7)) if not chinese_calendar.is_workday(d)]
    assert len(holiday) == 7  # the package's 国庆 2026, not a list of ours
    cal = WorkCalendar(SHANGHAI, WHOLE_DAY)
    # Two hours left on 30 September, then nothing until the first working day after the holiday.
    deadline = cal.add(at("2026-09-30 22:00"), timedelta(hours=4), Clock.WORKING)
    assert deadline == at("2026-10-08 02:00")
    assert cal.add(at("2026-09-30 22:00"), timedelta(hours=4), Clock.CALENDAR) == at("2026-10-01 02:00")


def test_a_tiaoxiu_saturday_is_a_working_day() -> None:
    saturdays = [d for d in days(date(2026, 9, 1), date(2026, 10, 31)) if d.weekday() == 5]
    make_up = [d for d in saturdays if chinese_calendar.is_workday(d)]
    assert make_up  # 调休: a Saturday worked to bridge the holiday
    saturday = make_up[-1]
    friday = saturday - timedelta(days=1)
    cal = WorkCalendar(SHANGHAI, WHOLE_DAY)
    start = at(f"{friday} 23:00")
    assert cal.add(start, timedelta(hours=4), Clock.WORKING) == at(f"{saturday} 03:00")
    # An ordinary weekend in between: the clock waits for Monday.
    plain_friday = friday + timedelta(days=7)
    assert not chinese_calendar.is_workday(plain_friday + timedelta(days=1))
    monday = plain_friday + timedelta(days=3)
    assert cal.add(at(f"{plain_friday} 23:00"), timedelta(hours=4), Clock.WORKING) == at(f"{monday} 03:00")


def test_office_hours_count_only_inside_the_window() -> None:
    cal = WorkCalendar(SHANGHAI, OFFICE)
    # Monday 16:30 + 4 working hours: 1 h on Monday, 3 h on Tuesday from 08:30.
    assert cal.add(at("2026-11-16 16:30"), timedelta(hours=4), Clock.WORKING) == at("2026-11-17 11:30")
    # Opened at night: counting starts at 08:30 the next working day.
    assert cal.add(at("2026-11-16 23:00"), timedelta(hours=2), Clock.WORKING) == at("2026-11-17 10:30")


def test_a_year_the_package_does_not_cover_falls_back_to_weekends(caplog: pytest.LogCaptureFixture) -> None:
    year = 2040
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(year, 1, 2))
    worktime.is_workday.cache_clear()
    worktime._warn_uncovered.cache_clear()
    cal = WorkCalendar(SHANGHAI, WHOLE_DAY)
    with caplog.at_level(logging.WARNING, logger="handlers.worktime"):
        # Friday 2040-01-06 22:00 + 4 h: Saturday and Sunday do not count.
        assert cal.add(at(f"{year}-01-06 22:00"), timedelta(hours=4), Clock.WORKING) == at(f"{year}-01-09 02:00")
        cal.add(at(f"{year}-03-06 22:00"), timedelta(hours=4), Clock.WORKING)
    warnings = [r for r in caplog.records if "no holiday data for 2040" in r.getMessage()]
    assert len(warnings) == 1
