"""The schedule's settings: defaults, policies, and refusal of bad cron lines and deadlines at start-up."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.schedule import cron_trigger, parse_duration
from config.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_follow_the_issue() -> None:
    schedule = Settings().schedule
    trivial = schedule.policy("trivial", False, "日常生活")
    assert (trivial.accept, trivial.resolve, trivial.clock) == (timedelta(hours=4), timedelta(hours=48), "working")
    urgent = schedule.policy("major", True, "其他")
    assert (urgent.accept, urgent.clock) == (timedelta(minutes=15), "calendar")
    safety = schedule.policy("major", False, "安全管理")
    assert (safety.clock, safety.council) == ("calendar", True)
    assert schedule.policy("major", False, "空间管理").clock == "working"
    assert (schedule.quiet_hours.start.hour, schedule.quiet_hours.end.hour) == (22, 8)


def test_a_crontab_weekday_means_what_crontab_means() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    sunday = datetime(2026, 11, 22, tzinfo=tz)
    assert cron_trigger("0 9 * * 1", tz).get_next_fire_time(None, sunday) == datetime(2026, 11, 23, 9, tzinfo=tz)
    assert cron_trigger("0 9 * * 0", tz).get_next_fire_time(None, sunday) == datetime(2026, 11, 22, 9, tzinfo=tz)
    assert cron_trigger("0 9 * * mon", tz).get_next_fire_time(None, sunday) == datetime(2026, 11, 23, 9, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("4h", timedelta(hours=4)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("LINLI_SCHEDULE__DIGEST__CRON", "0 25 * * 1", "schedule.digest.cron"),
        ("LINLI_SCHEDULE__DIGEST__CRON", "0 9 * *", "schedule.digest.cron"),
        ("LINLI_SCHEDULE__COUNCIL__MEETING_CRON", "30 19 32 * *", "schedule.council.meeting_cron"),
        ("LINLI_SCHEDULE__SLA__TRIVIAL__ACCEPT", "4 hours", "schedule.sla.trivial.accept"),
        ("LINLI_SCHEDULE__SLA__TRIVIAL__ACCEPT", "0m", "schedule.sla.trivial.accept"),
        ("LINLI_SCHEDULE__QUIET_HOURS__START", "25:00", "schedule.quiet_hours.start"),
        ("LINLI_SCHEDULE__ESCALATION__REMIND_AT", "[1.5]", "schedule.escalation.remind_at"),
    ],
)
def test_bad_values_are_refused_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert named in str(caught.value)


def test_an_unknown_sla_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "linli.yaml"
    config.write_text(
        "schedule:\n  sla:\n    trivial: {accept: 4h}\n    major: {accept: 2h}\n    major/停车: {accept: 1h}\n"
    )
    monkeypatch.setenv("LINLI_CONFIG", str(config))
    with pytest.raises(SettingsError, match=r"schedule\.sla.*停车"):
        load_settings()


def test_linli_refuses_to_start_with_a_bad_cron_line(tmp_path: Path) -> None:
    env = {
        "LINLI_SCHEDULE__DIGEST__CRON": "0 9 * * funday",
        "LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=ROOT,
        env={**env, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "schedule.digest.cron" in done.stderr
    assert "funday" in done.stderr
