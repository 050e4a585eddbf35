"""``linli nlp corrections``: the grid's corrections as a labelled corpus ``linli nlp train`` reads.

One line per corrected ticket: ``{"id", "text", "kind", "urgent", "domain"}`` plus ``"check": true`` where
the ticket keeps it. ``text`` is the original report (phone numbers masked); the labels are the
classifier's decision with every field the corrections changed (``handlers.labels.training_labels``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.texts.names import mask_personal
from handlers.labels import Labels, training_labels
from storage.correction_repo import CorrectionRepo
from storage.models import TicketCorrection


def parse_since(text: str | None, timezone: str) -> datetime | None:
    """A date (the start of that day) or an ISO 8601 instant; without an offset, read in ``timezone``."""
    if text is None:
        return None
    tz = ZoneInfo(timezone)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return datetime.combine(day, datetime.min.time(), tzinfo=tz)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--since {text!r} is not a date such as 2026-11-16 (or an ISO 8601 date and time)")
        raise
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def corpus_lines(rows: Sequence[TicketCorrection]) -> tuple[list[dict[str, Any]], list[int]]:
    """(corpus objects, one per corrected ticket in ticket order; tickets left out for want of text)."""
    by_ticket: dict[int, list[TicketCorrection]] = {}
    for row in rows:
        by_ticket.setdefault(row.ticket_id, []).append(row)
    lines: list[dict[str, Any]] = []
    skipped: list[int] = []
    for ticket_id, corrections in by_ticket.items():
        first = corrections[0]
        text = mask_personal(" ".join(first.text.split()))
        if not text:
            skipped.append(ticket_id)
            continue
        changes = [(Labels.from_json(c.before), Labels.from_json(c.after)) for c in corrections]
        labels = training_labels(first.decision, changes)
        lines.append({"id": f"ticket-{ticket_id}", "text": text, **labels.as_json()})
    return lines, skipped


@click.command("corrections")
@click.option("--since", "since_text", default=None, help="Only tickets corrected on or after this date.")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), help="FILE.jsonl"
)
def corrections(since_text: str | None, out: Path) -> None:
    """Export the grid's corrections as labelled corpus lines for `linli nlp train`."""
    settings = settings_or_exit()
    since = parse_since(since_text, settings.timezone)

    async def go() -> Sequence[TicketCorrection]:
        async with open_store(settings) as store, store.sessions() as session:
            return await CorrectionRepo(session).of_tickets_corrected_since(since)

    lines, skipped = corpus_lines(asyncio.run(go()))
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if str(out) == "-":
        sys.stdout.write(body)
    else:
        try:
            out.write_text(body, encoding="utf-8")
        except OSError as exc:
            fail(f"{out}: cannot write ({exc})")
    for ticket_id in skipped:
        click.echo(f"linli: warning: #{ticket_id} left out: its report has no text", err=True)
    click.echo(f"{out}: {len(lines)} corrected ticket(s)", err=True)
