"""What the weekly digest writes to disk, as plain values: ``digest.md`` and its two charts.

Drawing is most of a district's digest (two charts a community, a few tenths of a second each). The job
computes a community's figures, commits its messages, and hands these values to a process of its own
(``schedule.digest.chart_processes``, see ``bot.followups``) while it computes the next community; so
everything here can be pickled and needs no database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.message import OutgoingMessage, SendImage, Topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestFiles:
    out_dir: Path
    markdown: str
    titles: tuple[str, str]
    """(tickets by service area, opened and resolved per day)."""
    by_domain: tuple[tuple[str, int], ...]
    days: tuple[str, ...]
    opened: tuple[int, ...]
    resolved: tuple[int, ...]


def write(files: DigestFiles) -> list[Path]:
    """digest.md, then the charts (none, with a warning, when no CJK font is installed); their paths."""
    files.out_dir.mkdir(parents=True, exist_ok=True)
    md = files.out_dir / "digest.md"
    md.write_text(files.markdown, encoding="utf-8")
    return [md, *draw_charts(files)]


def draw_charts(files: DigestFiles) -> list[Path]:
    """by_domain.png and daily.png into ``files.out_dir``."""
    from handlers import charts  # matplotlib loads only when a chart is drawn, not with every CLI command

    by_domain, daily = files.titles
    try:
        return [
            charts.bar_by_domain(files.by_domain, by_domain, files.out_dir / "by_domain.png"),
            charts.opened_vs_resolved(files.days, files.opened, files.resolved, daily, files.out_dir / "daily.png"),
        ]
    except charts.FontMissing as exc:
        log.warning("digest charts skipped: %s", exc)
        return []


def write_and_send(files: DigestFiles, chats: tuple[tuple[str, str], ...]) -> list[OutgoingMessage]:
    """The digest job's follow-up: write the files, then send the charts to the committee's chats."""
    charts = write(files)[1:]
    return [
        SendImage(platform, chat_id, str(path.resolve()), topic=Topic.DIGEST, hold=True)
        for platform, chat_id in chats
        for path in charts
    ]
