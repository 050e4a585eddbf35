"""``linli deadlines``: run one deadline sweep by hand, as if the clock read ``--now``."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.job_runner import JobRunner
from handlers.deadlines import SweepAction, sweep_deadlines


def parse_instant(text: str | None, timezone: str) -> datetime | None:
    """An ISO 8601 instant; one without an offset is read in the community's time zone."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now {text!r} is not an ISO 8601 date and time")
        raise
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


@click.group()
def deadlines() -> None:
    """Deadlines: reminders before and at each deadline, escalation up the grid after it."""


@deadlines.command("run")
@click.option("--now", "now_text", default=None, help="Sweep as if the clock read this ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reminder or escalation, one a line.")
def run_(now_text: str | None, as_json: bool) -> None:
    """Perform the reminders and escalations due now (once: a second run at the same time does nothing)."""
    settings = settings_or_exit()
    now = parse_instant(now_text, settings.timezone) or datetime.now(UTC)
    tz = ZoneInfo(settings.timezone)

    async def go() -> list[SweepAction]:
        async with open_store(settings) as store:
            return await JobRunner(store.sessions, settings).run(sweep_deadlines, now, name="sweep_deadlines")

    actions = asyncio.run(go())
    for action in actions:
        if as_json:
            click.echo(json.dumps(action.as_json(), ensure_ascii=False))
            continue
        verb = "提醒" if action.action == "remind" else f"上报(级别 {action.level})"
        held = f"（免打扰时段，{action.send_at.astimezone(tz):%m-%d %H:%M} 发出）" if action.send_at > now else ""
        click.echo(f"#{action.ticket} {verb} → {action.to}{held}: {action.text}")
    if not as_json:
        click.echo(f"{len(actions)} reminder(s)/escalation(s) performed", err=True)
