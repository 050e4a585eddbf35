"""``linli digest``: the weekly digest on demand."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from handlers.digest import DigestError, Week, compute, write_files


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
