"""Settings for everything linli does on a clock: deadlines (SLA), quiet hours, digests, the council.

Every value is checked when the settings load, so a malformed cron line or deadline stops ``linli run``
at start-up with the key and the reason, never at 09:00 on a Monday. See docs/schedule.md.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, field_validator, model_validator

KINDS = ("trivial", "major", "urgent")
DOMAINS = ("空间管理", "安全管理", "环境卫生", "文化体育", "政策宣传", "日常生活", "纠纷化解", "其他")

_DURATION = re.compile(r"(\d+)\s*(d|h|m|min|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "min": 60, "s": 1}
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(value: object) -> timedelta:
    """A duration such as 15m, 4h, 7d or 1h30m, or a number of seconds; must be positive."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=float(value))
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts).lower() != text.lower():
            raise ValueError(f"{value!r} is not a duration such as 15m, 4h, 7d or 1h30m")
        result = timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))
    else:
        raise ValueError(f"{value!r} is not a duration such as 15m, 4h, 7d or 1h30m")
    if result <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return result


def _format_duration(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration)]


def cron_trigger(expr: str, timezone: str | tzinfo) -> CronTrigger:
    """A standard five-field crontab line (minute hour day month weekday) as an APScheduler trigger.

    APScheduler 3 reads a numeric weekday as 0 = Monday; crontab means 0 (or 7) = Sunday. Numbers in
    the weekday field are translated to names so that ``0 9 * * 1`` is Monday, as anyone expects.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} needs 5 fields (minute hour day month weekday), got {len(fields)}")
    fields[4] = re.sub(r"\d+", lambda m: _weekday_name(str(m.group(0))), fields[4])
    try:
        return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"{expr!r} is not a valid cron line: {exc}") from exc


def _weekday_name(number: str) -> str:
    n = int(number)
    if n > 7:
        raise ValueError(f"weekday {n} is out of range 0-7")
    return _CRON_DAYS[n]


def _check_cron(value: str) -> str:
    cron_trigger(value, "Asia/Shanghai")
    return value


Cron = Annotated[str, BeforeValidator(lambda v: v if not isinstance(v, str) else v.strip()), Field(min_length=1)]


def _parse_clock(value: object) -> time:
    if isinstance(value, time):
        return value
    text = str(value).strip()
    if text == "24:00":
        return time.max
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{value!r} is not a time of day such as 08:00")
    return time(int(match.group(1)), int(match.group(2)))


ClockTime = Annotated[time, BeforeValidator(_parse_clock), PlainSerializer(lambda t: t.strftime("%H:%M"))]


class Clock(StrEnum):
    CALENDAR = "calendar"
    """Every minute counts, day and night, holidays included."""
    WORKING = "working"
    """Only minutes inside the working hours of working days (Chinese public holidays and 调休 applied)."""


class DeadlinePolicy(BaseModel):
    """How long the grid has to accept and to resolve one class of ticket."""

    model_config = {"extra": "forbid"}

    accept: Duration
    resolve: Duration | None = None
    clock: Clock = Clock.WORKING
    council: bool = False
    """Major tickets of this class go on the next 党群议事会 agenda until they are resolved."""


def _default_sla() -> dict[str, DeadlinePolicy]:
    return {
        "urgent": DeadlinePolicy.model_validate({"accept": "15m", "resolve": "24h", "clock": "calendar"}),
        "major/安全管理": DeadlinePolicy.model_validate(
            {"accept": "2h", "resolve": "7d", "clock": "calendar", "council": True}
        ),
        "major": DeadlinePolicy.model_validate({"accept": "2h", "resolve": "7d", "clock": "working", "council": True}),
        "trivial": DeadlinePolicy.model_validate({"accept": "4h", "resolve": "48h", "clock": "working"}),
    }


class HoursWindow(BaseModel):
    model_config = {"extra": "forbid"}

    start: ClockTime
    end: ClockTime


class QuietHours(HoursWindow):
    """Non-urgent notices to leaders wait until ``end``; urgent ones and acknowledgements never wait."""

    enabled: bool = True

    def contains(self, local: datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def release_at(self, now: datetime, tz: tzinfo) -> datetime:
        """``now`` if it is outside the quiet hours, else the moment they end (aware, in ``now``'s zone)."""
        local = now.astimezone(tz)
        if not self.enabled or not self.contains(local):
            return now
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end.astimezone(now.tzinfo)


class EscalationPolicy(BaseModel):
    model_config = {"extra": "forbid"}

    remind_at: list[float] = Field(default_factory=lambda: [0.5, 1.0])
    """Reminders to the assignee, as fractions of the window (0.5 = half-way, 1.0 = at the deadline)."""
    after_deadline: Duration = timedelta(minutes=30)
    """Escalate one grid level up once a deadline has been passed by this much."""
    mention_in_group: bool = True
    """Also @-mention the assignee in the ticket's group (on platforms that can)."""
    mention_platforms: list[str] = Field(default_factory=lambda: ["sim", "console", "wechaty"])

    @field_validator("remind_at")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if len(value) > 5:
            raise ValueError("at most 5 reminders per window")
        for fraction in value:
            if not 0 < fraction <= 1:
                raise ValueError(f"{fraction} is not a fraction of the window in (0, 1]")
        return sorted(set(value))


class DigestSettings(BaseModel):
    model_config = {"extra": "forbid"}

    enabled: bool = True
    cron: Cron = "0 9 * * 1"
    """When the weekly digest for the ISO week just ended goes out (default: Monday 09:00)."""
    out_dir: Path = Path(".cache/linli/digests")
    chart_processes: int = Field(default=2, ge=0, le=16)
    """Processes that draw the charts (two per community) while the next communities' digests are read,
    started for one run of the job and stopped after it; 0 draws them in a thread, one community after
    another. A district's digest is mostly charts: see docs/scaling.md."""
    committee_chats: dict[str, list[str]] | list[str] = Field(default_factory=dict)
    """Each community's committee group chats as ``platform:chat_id``, by community id; its full digest, its
    charts and its council agenda go there too, and nowhere else. A plain list (the old form) says nothing
    about whose chats they are: it is used only while the org has a single community."""

    @field_validator("committee_chats")
    @classmethod
    def _chat_specs(cls, value: dict[str, list[str]] | list[str]) -> dict[str, list[str]] | list[str]:
        for spec in value if isinstance(value, list) else [c for chats in value.values() for c in chats]:
            platform, sep, chat_id = spec.partition(":")
            if not (platform and sep and chat_id):
                raise ValueError(f"{spec!r} is not platform:chat_id")
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return _check_cron(value)


class CouncilSettings(BaseModel):
    model_config = {"extra": "forbid"}

    enabled: bool = True
    meeting_cron: Cron = "30 19 25 * *"
    """When the 党群议事会 meets (default: the 25th of each month at 19:30)."""
    notice: Duration = timedelta(days=1)
    """How long before each meeting the committee receives the agenda."""

    @field_validator("meeting_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return _check_cron(value)


class CheckSettings(BaseModel):
    """The check tier: how long the accountable leader has to answer 确认紧急 or 不紧急."""

    model_config = {"extra": "forbid"}

    answer_within: Duration = timedelta(minutes=10)
    """No answer by then counts as urgent: the whole grid is told."""
    sweep_seconds: int = Field(default=30, ge=5, le=600)
    """How often the unanswered checks are looked for (the timeout fires up to this much late)."""


class ScheduleSettings(BaseModel):
    model_config = {"extra": "forbid"}

    sweep_seconds: int = Field(default=60, ge=5, le=3600)
    misfire_grace_seconds: int = Field(default=300, ge=1)
    quiet_hours: QuietHours = QuietHours.model_validate({"start": "22:00", "end": "08:00"})
    working_hours: HoursWindow = HoursWindow.model_validate({"start": "00:00", "end": "24:00"})
    """The part of each working day that counts on the working clock (default: the whole day)."""
    sla: dict[str, DeadlinePolicy] = Field(default_factory=_default_sla)
    """Keys: ``urgent``, ``major``, ``trivial``, or ``kind/服务领域`` (e.g. ``major/安全管理``) to override one area."""
    escalation: EscalationPolicy = EscalationPolicy()
    digest: DigestSettings = DigestSettings()
    council: CouncilSettings = CouncilSettings()
    check: CheckSettings = CheckSettings()

    @field_validator("sla")
    @classmethod
    def _sla_keys(cls, value: dict[str, DeadlinePolicy]) -> dict[str, DeadlinePolicy]:
        for key in value:
            kind, _, domain = key.partition("/")
            if kind not in KINDS:
                raise ValueError(f"sla key {key!r}: kind must be one of {', '.join(KINDS)}")
            if domain and domain not in DOMAINS:
                raise ValueError(f"sla key {key!r}: {domain!r} is not one of the eight service areas")
        for kind in ("trivial", "major"):
            if kind not in value:
                raise ValueError(f"sla needs a policy for {kind!r}")
        return value

    @model_validator(mode="after")
    def _working_day(self) -> ScheduleSettings:
        if self.working_hours.start >= self.working_hours.end:
            raise ValueError("working_hours: start must be before end")
        return self

    def policy(self, kind: str, urgent: bool, domain: str) -> DeadlinePolicy:
        """The policy for a ticket: urgent first, then ``kind/domain``, then ``kind``, then trivial."""
        for key in (("urgent/" + domain, "urgent") if urgent else ()) + (f"{kind}/{domain}", kind):
            if key in self.sla:
                return self.sla[key]
        return self.sla["trivial"]
