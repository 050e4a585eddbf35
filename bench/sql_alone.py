"""What ``linli replay``'s work costs without linli: its SQL run alone, its classification alone.

One replay in this process over a fresh SQLite database with a backlog (bench/workload.py), recording
every statement with its parameters as the driver received them and every commit and rollback, per
connection. Then the recording is run again, straight through the standard library's ``sqlite3``, on a
copy of the database taken before the replay, pragmas included (they are recorded): that is what SQLite
itself spent, with no SQLAlchemy, no handlers and no event loop. The same texts are classified again
alone. The sum of the two is a floor under what any single process costs per message with this schema
and this classifier, however its Python is written; 1,000 divided by it bounds messages/s.

Run: python -m bench.sql_alone [--messages 8000] [--backlog 1000] [--groups 200] [--mix R:C] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_replay import evening, mixes
from bench.profile_replay import shape
from bench.workload import COMMAND_SHARE, REPORT_SHARE
from bot.app import open_store
from bot.cli.replay import read_records, replay
from config.settings import Settings
from nlp.classifier import load_classifier
from storage import sqlite_driver
from storage.sqlite_driver import BUSY_TIMEOUT_MS


@dataclass
class Recording:
    """Statements, commits and rollbacks in the order they happened, each with the connection it ran on."""

    steps: list[tuple[int, str, str, Any]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def statement(self, connection: int, sql: str, parameters: Any, many: bool) -> None:
        self.steps.append((connection, "many" if many else "one", sql, parameters))
        self.kinds["many" if many else "one"] += 1

    def end(self, connection: int, how: str) -> None:
        self.steps.append((connection, how, "", None))
        self.kinds[how] += 1


async def record(settings: Settings, infile: Path, recording: Recording) -> int:
    """Replay ``infile``, recording at linli's SQLite driver (``storage.sqlite_driver``), where every
    statement, commit and rollback passes with the values sqlite3 receives."""
    run, waiting, rollback = sqlite_driver._run, sqlite_driver._waiting, sqlite_driver.OneTripConnection.rollback

    def recorded_run(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Any:
        outcome = run(raw, operation, parameters, many)
        recording.statement(id(raw), operation, parameters, many)  # only once done: a stopped SELECT runs again
        return outcome

    def recorded_waiting(raw: sqlite3.Connection, work: Callable[..., Any], *args: Any) -> Any:
        outcome = waiting(raw, work, *args)
        if getattr(work, "__name__", "") == "commit":
            recording.end(id(raw), "commit")
        return outcome

    def recorded_rollback(self: sqlite_driver.OneTripConnection) -> None:
        if self._open():
            recording.end(id(self._connection._conn), "rollback")
        rollback(self)

    sqlite_driver._run, sqlite_driver._waiting = recorded_run, recorded_waiting
    sqlite_driver.OneTripConnection.rollback = recorded_rollback  # type: ignore[method-assign]
    try:
        async with open_store(settings) as store:
            with infile.open(encoding="utf-8") as source:
                return await replay(settings, store, read_records(source, str(infile)), lambda item: None)
    finally:
        sqlite_driver._run, sqlite_driver._waiting = run, waiting
        sqlite_driver.OneTripConnection.rollback = rollback  # type: ignore[method-assign]


def run_alone(database: Path, recording: Recording) -> tuple[float, int, dict[str, float]]:
    """Seconds the recorded steps take in ``sqlite3`` alone, how many failed (none should), and the seconds
    by statement (its text with parameter lists folded) or commit."""
    # The pragmas the service sets on a new connection are in the recording, at its start.
    connections = {
        key: sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000) for key in {step[0] for step in recording.steps}
    }
    failed = 0
    by_shape: dict[str, float] = defaultdict(float)
    clock = time.perf_counter
    started = clock()
    for key, how, sql, parameters in recording.steps:
        conn = connections[key]
        began = clock()
        try:
            if how == "one":
                conn.execute(sql, parameters if parameters is not None else ()).fetchall()
            elif how == "many":
                conn.executemany(sql, parameters).fetchall()
            elif how == "commit":
                conn.commit()
            else:
                conn.rollback()
        except sqlite3.Error as exc:
            failed += 1
            print(f"failed when run alone ({exc}): {shape(sql)}", file=sys.stderr)
        by_shape[shape(sql) if sql else how] += clock() - began
    elapsed = clock() - started
    for conn in connections.values():
        conn.close()
    return elapsed, failed, by_shape


def texts(infile: Path) -> Iterator[str]:
    with infile.open(encoding="utf-8") as source:
        for msg in read_records(source, str(infile)):
            if msg.content_type == "text" and msg.text.strip():
                yield msg.text


def classify_alone(infile: Path, settings: Settings) -> float:
    nlp = settings.nlp
    classifier = load_classifier(nlp.rules_file, nlp.cache_dir, max_chars=nlp.max_text_chars, model_file=nlp.model_file)
    batch = list(texts(infile))
    started = time.perf_counter()
    for text in batch:
        classifier.classify(text[: nlp.max_text_chars])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the recording; the fastest is kept")
    parser.add_argument("--top", type=int, default=15, help="statements listed by their time")
    parser.add_argument(
        "--mix", default=f"{REPORT_SHARE}:{COMMAND_SHARE}", help="shares of reports and commands (1:0: reports alone)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linli-sql-alone-"))
    database = folder / "replay.db"
    url = f"sqlite+aiosqlite:///{database}"
    [mix] = mixes(args.mix)
    _, _, infile = evening(url, folder, groups=args.groups, backlog=args.backlog, messages=args.messages, mix=mix)
    before = folder / "before"
    before.mkdir()
    for path in folder.glob("replay.db*"):
        shutil.copy(path, before / path.name)
    settings = Settings(database_url=url)
    recording = Recording()
    started = time.perf_counter()
    count = asyncio.run(record(settings, infile, recording))
    whole = time.perf_counter() - started
    runs = []
    for _ in range(args.repeat):
        copy = folder / "alone"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(before, copy)
        runs.append(run_alone(copy / "replay.db", recording))
    sql, failed, by_shape = min(runs, key=lambda run: run[0])
    classify = min(classify_alone(infile, settings) for _ in range(args.repeat))
    per = {name: seconds * 1000 / count for name, seconds in (("sql", sql), ("classify", classify), ("whole", whole))}
    floor = per["sql"] + per["classify"]
    print(f"{count} messages, mix {args.mix}, {args.groups} groups, backlog {args.backlog}")
    print(f"recorded: {dict(recording.kinds)}; {failed} steps failed when run alone")
    print(f"replay in this process (start-up included): {per['whole']:.3f} ms a message, {count / whole:.0f}/s")
    print(f"its SQL alone in sqlite3: {per['sql']:.3f} ms a message")
    print(f"its classification alone: {per['classify']:.3f} ms a message")
    print(f"floor: {floor:.3f} ms a message, at most {1000 / floor:.0f} messages/s in one process")
    print("\nthe SQL alone by statement (ms a message):")
    for text, seconds in sorted(by_shape.items(), key=lambda item: -item[1])[: args.top]:
        print(f"{seconds * 1000 / count:8.3f}  {text}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
