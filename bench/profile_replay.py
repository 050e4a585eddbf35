"""Where ``linli replay``'s time goes: cProfile and the SQL statements it runs, per message.

One run in this process over a fresh database with a backlog (bench/workload.py): the statements are
counted with SQLAlchemy's ``before_cursor_execute`` event and grouped by their text, so a change that
cuts statements per message shows here before it shows in ``bench_replay``'s messages/s.

Run: python -m bench.profile_replay [--messages 4000] [--backlog 1000] [--groups 200] [--postgres]
     [--top 25] [--no-profile] [--dump FILE] [--mix R:C]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import greenlet
from sqlalchemy import event

from bench.bench_replay import evening, mixes
from bench.workload import COMMAND_SHARE, REPORT_SHARE
from bot.app import open_store
from bot.cli.replay import read_records, replay
from config.settings import Settings

_SPACES = re.compile(r"\s+")
_LISTS = re.compile(r"\((?:\?|\$\d+|%\([^)]*\)s)(?:, (?:\?|\$\d+|%\([^)]*\)s))*\)")


def shape(statement: str) -> str:
    """A statement's text with its parameter lists folded, so statements differing only in length count as one."""
    return _LISTS.sub("(…)", _SPACES.sub(" ", statement)).strip()[:160]


WHERE_FROM: re.Pattern[str] | None = None
"""``--where-from``: statements matching this are counted by the line of our code that ran them."""
ORIGINS: Counter[str] = Counter()


def origin() -> str:
    """The innermost frames of our own code (bot, handlers, storage) that led to this statement."""
    frames = traceback.extract_stack()
    parent = greenlet.getcurrent().parent  # SQLAlchemy runs the statement in a greenlet; our code is above it
    if parent is not None and parent.gr_frame is not None:
        frames = traceback.extract_stack(parent.gr_frame) + frames
    ours = [
        f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}"
        for f in frames
        if any(part in f.filename for part in ("/bot/", "/handlers/", "/storage/")) and ".venv" not in f.filename
    ]
    return " < ".join(reversed(ours[-3:]))


async def run(settings: Settings, infile: Path, statements: Counter[str], profile: cProfile.Profile | None) -> int:
    async with open_store(settings) as store:

        @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            text = shape(statement)
            statements[text] += 1
            if WHERE_FROM is not None and WHERE_FROM.search(text):
                ORIGINS[f"{text[:60]} @ {origin()}"] += 1

        with infile.open(encoding="utf-8") as source:
            records: Iterator[Any] = read_records(source, str(infile))
            if profile is not None:
                profile.enable()
            try:
                return await replay(settings, store, records, lambda item: None)
            finally:
                if profile is not None:
                    profile.disable()


AREAS = (
    ("sqlalchemy/orm", "SQLAlchemy ORM"),
    ("sqlalchemy", "SQLAlchemy Core and engine"),
    ("aiosqlite", "aiosqlite"),
    ("asyncpg", "asyncpg"),
    ("greenlet", "greenlet"),
    ("asyncio", "asyncio"),
    ("/nlp/", "nlp"),
    ("jieba", "jieba"),
    ("/handlers/", "handlers"),
    ("/bot/", "bot"),
    ("/storage/", "storage"),
)


def by_area(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time (tottime) summed by where the code lives."""
    totals: Counter[str] = Counter()
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        where = filename if filename != "~" else name
        area = next((label for part, label in AREAS if part in where), "other")
        if "epoll" in name or ("select" in name and filename == "~"):
            area = "waiting (epoll)"
        elif "put_nowait" in name or ("acquire" in name and filename == "~"):
            area = "thread hand-off"
        totals[area] += row[2]
    return totals.most_common()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true", help="count statements only")
    parser.add_argument("--where-from", default=None, help="a regular expression: where do these statements come from")
    parser.add_argument("--dump", type=Path, default=None, help="also write the profile here (pstats) to query later")
    parser.add_argument(
        "--mix", default=f"{REPORT_SHARE}:{COMMAND_SHARE}", help="shares of reports and commands (1:0: reports alone)"
    )
    args = parser.parse_args()
    global WHERE_FROM
    WHERE_FROM = re.compile(args.where_from) if args.where_from else None
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="linli-profile-"))
        if args.postgres:
            from tests.postgres import PostgresServer

            server = PostgresServer.start()
            stack.callback(server.stop)
            url = server.fresh_database_url()
        else:
            url = f"sqlite+aiosqlite:///{folder / 'replay.db'}"
        [mix] = mixes(args.mix)
        _, _, infile = evening(url, folder, groups=args.groups, backlog=args.backlog, messages=args.messages, mix=mix)
        settings = Settings(database_url=url)
        statements: Counter[str] = Counter()
        profile = None if args.no_profile else cProfile.Profile()
        started = time.perf_counter()
        count = asyncio.run(run(settings, infile, statements, profile))
        elapsed = time.perf_counter() - started
    total = sum(statements.values())
    out = sys.stdout
    out.write(f"{count} messages in {elapsed:.1f} s ({count / elapsed:.0f}/s, profiler on: {profile is not None})\n")
    out.write(f"{total} statements, {total / max(count, 1):.2f} per message\n\n")
    for text, number in statements.most_common(args.top):
        out.write(f"{number:8d} {number / max(count, 1):6.2f}/msg  {text}\n")
    for where, number in ORIGINS.most_common(args.top):
        out.write(f"{number:8d}  {where}\n")
    if profile is not None and args.dump is not None:
        profile.dump_stats(args.dump)
    if profile is not None:
        everything = sum(t for _, t in by_area(pstats.Stats(profile)))
        out.write("\nown time by area:\n")
        for area, seconds in by_area(pstats.Stats(profile)):
            out.write(f"{seconds:8.2f} s {seconds / everything:6.1%}  {area}\n")
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats("cumulative").print_stats(args.top * 2)
        out.write("\n" + buffer.getvalue())
        buffer = io.StringIO()
        pstats.Stats(profile, stream=buffer).sort_stats("tottime").print_stats(args.top * 2)
        out.write("\n" + buffer.getvalue())


if __name__ == "__main__":
    main()
