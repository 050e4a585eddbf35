"""``linli digest`` and ``linli council``: the weekly digest and the council agenda on demand."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.cli.deadlines import parse_instant
from handlers.council import agenda, agenda_text, next_meeting
from handlers.digest import DigestError, Week, compute, write_files
from storage.models import Unit


@click.command()
@click.option("--community", "community_id", required=True, help="The community's unit id (e.g. beijiang).")
@click.option("--week", "week_text", default=None, help="ISO week such as 2026-W47 (default: last week).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write digest.md and *.png here.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def digest(community_id: str, week_text: str | None, out_dir: Path | None, as_json: bool) -> None:
    """The weekly digest of one community: figures, digest.md and the charts."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)
    try:
        week = Week.parse(week_text, tz) if week_text else Week.before(datetime.now(UTC), tz)
    except DigestError as exc:
        fail(str(exc))
        raise

    async def go() -> tuple[dict[str, Any], list[Path]]:
        async with open_store(settings) as store, store.sessions() as session:
            result = await compute(session, settings, community_id, week)
            files: list[Path] = []
            if out_dir is not None or not as_json:
                target = out_dir or settings.schedule.digest.out_dir / community_id / week.label
                files = write_files(result, target)
            return result.figures(), files

    try:
        figures, files = asyncio.run(go())
    except DigestError as exc:
        fail(str(exc))
        raise
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
    for path in files:
        click.echo(f"wrote {path}", err=True)


@click.group()
def council() -> None:
    """The 党群议事会 (residents' council)."""


@council.command("agenda")
@click.option("--community", "community_id", required=True)
@click.option("--now", "now_text", default=None, help="As if the clock read this ISO 8601 instant.")
@click.option("--json", "as_json", is_flag=True, help="Print the agenda items as JSON.")
def council_agenda(community_id: str, now_text: str | None, as_json: bool) -> None:
    """The major tickets awaiting the next council meeting."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)
    now = parse_instant(now_text, settings.timezone) or datetime.now(UTC)

    async def go() -> tuple[str, list[dict[str, Any]]]:
        async with open_store(settings) as store, store.sessions() as session:
            community = await session.get(Unit, community_id)
            if community is None or community.parent_id is not None:
                fail(f"{community_id!r} is not a community in the org")
                raise SystemExit(2)
            meeting = next_meeting(settings, now)
            items = await agenda(session, settings, community_id)
            rows = [{**asdict(i), "opened_at": i.opened_at.isoformat()} for i in items]
            return agenda_text(community.name, meeting, items, tz), rows

    text, rows = asyncio.run(go())
    click.echo(json.dumps(rows, ensure_ascii=False) if as_json else text)
