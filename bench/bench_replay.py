"""``linli replay`` of a district's evening, as a new user would run it, over a backlog of old tickets.

Each run: a fresh database (SQLite file, or a database on a throwaway PostgreSQL cluster), the org of a
district of ``--groups`` groups, a backlog of ``--backlog`` unfinished tickets (as many finished ones,
three messages per ticket: bench/workload.py), then ``python -m bot replay IN.jsonl --out OUT.jsonl`` in
its own process. Figures come from what replay prints on stderr (messages/s, tickets opened, p50/p99 time
per message) and from the process's peak RSS (``os.wait4``). Every run checks that replay opened exactly
the tickets the workload says it would. Each configuration runs ``--repeat`` times; medians are kept.

Targets (issue 12): 100,000 messages across 200 groups, >= 2,000 messages/s on SQLite and >= 3,000 on
PostgreSQL, p99 < 50 ms, RSS < 300 MB; with 1,000, 10,000 and 100,000 unfinished tickets within 20% of
its own speed.

Run: python -m bench.bench_replay [--messages 100000] [--groups 200] [--backlog 0,1000,10000,100000]
     [--backends sqlite,postgres] [--repeat 3] [--mixes R:C,...] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.workload import COMMAND_SHARE, REPORT_SHARE, District, Workload, generate, preload
from bot.app import import_org, open_store
from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(
    r"replayed (?P<count>\d+) message\(s\) in (?P<seconds>[\d.]+) s: (?P<rate>\d+) messages/s, "
    r"(?P<opened>\d+) ticket\(s\) opened, time per message p50 (?P<p50>[\d.]+) ms, p99 (?P<p99>[\d.]+) ms"
)


@dataclass
class Run:
    backend: str
    groups: int
    backlog: int
    messages: int
    rate: float
    p50_ms: float
    p99_ms: float
    rss_mb: float
    seconds: float
    tickets: int
    cpu_ms: float = 0.0
    """CPU time (user + system, all threads, start-up included) per message: less at the mercy of a busy
    machine than messages/s."""
    mix: tuple[float, float] = (REPORT_SHARE, COMMAND_SHARE)
    """Shares of reports and of commands in the workload (the rest chatter and a few photos)."""


async def prepare(url: str, district: District, backlog: int, folder: Path) -> int:
    """Schema, org and backlog; returns the number the next ticket gets."""
    settings = Settings(database_url=url)
    async with open_store(settings) as store:
        await import_org(store, district.write_org(folder / "org.yaml"))
        first = await preload(store.sessions, district, backlog)
        if url.startswith("postgresql"):
            async with store.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE"))
    return first


BATCH_MAX: int | None = None
"""``pipeline.batch_max`` for the replay (``--batch-max``); None: the default."""


@dataclass
class Started:
    """A ``linli replay`` process under way, and the file its stderr goes to."""

    proc: subprocess.Popen[bytes]
    stderr: Path


def start_replay(url: str, infile: Path, outfile: Path, instance: str = "") -> Started:
    """Start ``linli replay`` of ``infile`` in its own process, as ``instance`` (LINLI_INSTANCE) if given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    if BATCH_MAX is not None:
        env["LINLI_PIPELINE__BATCH_MAX"] = str(BATCH_MAX)
    env |= {"LINLI_DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LINLI_NLP__CACHE_DIR": str(ROOT / ".cache" / "linli")}
    if instance:
        env["LINLI_INSTANCE"] = instance
    stderr = outfile.with_name(f"{outfile.name}.stderr")
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "replay", str(infile), "--out", str(outfile)],
            env=env,
            cwd=infile.parent,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    return Started(proc, stderr)


def finish_replay(started: Started) -> tuple[dict[str, str], float, float, str]:
    """Wait for a replay: its summary, its peak RSS in MB, its CPU seconds, its stderr."""
    _, status, usage = os.wait4(started.proc.pid, 0)
    started.proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = started.stderr.read_text(encoding="utf-8", errors="replace")
    if started.proc.returncode != 0:
        raise SystemExit(f"linli replay failed ({started.proc.returncode}):\n{stderr[-3000:]}")
    found = SUMMARY.search(stderr)
    if found is None:
        raise SystemExit(f"no summary from linli replay:\n{stderr[-3000:]}")
    return found.groupdict(), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stderr


def replay(url: str, infile: Path, outfile: Path) -> tuple[dict[str, str], float, float, str]:
    """Run ``linli replay`` in its own process: its summary, its peak RSS in MB, its CPU seconds, its stderr."""
    return finish_replay(start_replay(url, infile, outfile))


def evening(
    url: str, folder: Path, *, groups: int, backlog: int, messages: int, mix: tuple[float, float]
) -> tuple[District, Workload, Path]:
    """A database with the district's org and backlog, and the evening's messages written to folder/in.jsonl."""
    district = District.with_groups(groups)
    first = asyncio.run(prepare(url, district, backlog, folder))
    workload = generate(district, messages, first_ticket=first, reports=mix[0], commands=mix[1])
    return district, workload, workload.write(folder / "in.jsonl")


def one_run(
    url: str, backend: str, groups: int, backlog: int, messages: int, folder: Path, mix: tuple[float, float]
) -> Run:
    district, workload, infile = evening(url, folder, groups=groups, backlog=backlog, messages=messages, mix=mix)
    summary, rss, cpu, _ = replay(url, infile, folder / "out.jsonl")
    if int(summary["opened"]) != workload.tickets:
        raise SystemExit(f"replay opened {summary['opened']} tickets, the workload expects {workload.tickets}")
    return Run(
        backend,
        len(district.groups()),
        backlog,
        int(summary["count"]),
        float(summary["rate"]),
        float(summary["p50"]),
        float(summary["p99"]),
        rss,
        float(summary["seconds"]),
        workload.tickets,
        cpu * 1000 / max(1, int(summary["count"])),
        mix,
    )


def median_run(runs: list[Run]) -> Run:
    middle = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    return Run(
        middle.backend,
        middle.groups,
        middle.backlog,
        middle.messages,
        statistics.median(r.rate for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(r.rss_mb for r in runs),
        statistics.median(r.seconds for r in runs),
        middle.tickets,
        statistics.median(r.cpu_ms for r in runs),
        middle.mix,
    )


def database(backend: str, folder: Path, stack: ExitStack) -> Any:
    """A function giving a fresh database URL for each run."""
    if backend == "sqlite":
        counter = iter(range(1_000_000))
        return lambda: f"sqlite+aiosqlite:///{folder / f'replay-{next(counter)}.db'}"
    url = os.environ.get("LINLI_BENCH_POSTGRES")
    if url:
        return lambda: url
    from tests.postgres import PostgresServer  # a throwaway cluster from the Debian binaries

    server = PostgresServer.start()
    stack.callback(server.stop)
    return server.fresh_database_url


def measure(args: argparse.Namespace) -> list[Run]:
    """Every configuration once per round, ``--repeat`` rounds: a machine whose load changes over time
    weighs on every configuration alike, so the comparisons within a run hold."""
    runs: dict[tuple[str, int, int, tuple[float, float]], list[Run]] = {}
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="linli-bench-replay-"))
        backends = args.backends.split(",")
        fresh = {backend: database(backend, folder, stack) for backend in backends}
        usual = (REPORT_SHARE, COMMAND_SHARE)
        configurations = [(args.groups, backlog, usual) for backlog in map(int, args.backlog.split(","))]
        curve = [int(groups) for groups in args.groups_curve.split(",") if groups.strip() and int(groups)]
        configurations += [(groups, args.groups_backlog, usual) for groups in curve]
        configurations += [(args.groups, args.groups_backlog, mix) for mix in mixes(args.mixes)]
        for _ in range(args.repeat):
            for backend in backends:
                for groups, backlog, mix in dict.fromkeys(configurations):
                    run = one_run(fresh[backend](), backend, groups, backlog, args.messages, folder, mix)
                    runs.setdefault((backend, groups, backlog, mix), []).append(run)
                    print(
                        f"  {backend} groups {run.groups} backlog {backlog} reports {mix[0]:.0%} commands "
                        f"{mix[1]:.0%}: {run.rate:.0f} msg/s, "
                        f"p99 {run.p99_ms:.0f} ms, {run.cpu_ms:.2f} CPU ms/msg, load {os.getloadavg()[0]:.1f}",
                        file=sys.stderr,
                    )
    return [median_run(found) for found in runs.values()]


def mixes(text: str) -> list[tuple[float, float]]:
    """``--mixes`` as (reports, commands) shares: "0:0,0.2:0" is chatter alone, then a fifth reports."""
    found = []
    for part in text.split(","):
        if part.strip():
            reports, commands = part.split(":")
            found.append((float(reports), float(commands)))
    return found


def table(runs: list[Run]) -> str:
    lines = [
        "| backend | groups | open tickets before | reports, commands | messages | messages/s | p50 ms | p99 ms "
        "| peak RSS MB | CPU ms per message | vs no backlog |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    usual = (REPORT_SHARE, COMMAND_SHARE)
    base = {(r.backend, r.groups): r.rate for r in runs if r.backlog == 0 and r.mix == usual}
    for r in runs:
        ref = base.get((r.backend, r.groups)) if r.mix == usual else None
        share = f"{r.rate / ref:.0%}" if ref else ""
        lines.append(
            f"| {r.backend} | {r.groups} | {r.backlog:,} | {r.mix[0]:.0%}, {r.mix[1]:.0%} | {r.messages:,} | "
            f"{r.rate:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.rss_mb:.0f} | {r.cpu_ms:.2f} | {share} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--backlog", default="0,1000,10000,100000", help="open tickets before the replay")
    parser.add_argument("--groups-curve", default="20,2000", help="further runs with these many groups")
    parser.add_argument("--groups-backlog", type=int, default=1000, help="backlog of the groups and mixes curves")
    parser.add_argument(
        "--mixes",
        default="",
        help='further runs with other shares of reports and commands, e.g. "0:0,0.2:0,0:0.1" (chatter alone, ...)',
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-max", type=int, default=None, help="pipeline.batch_max for the replay")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    global BATCH_MAX
    BATCH_MAX = args.batch_max
    started = time.perf_counter()
    runs = measure(args)
    print(table(runs))
    print(f"\n({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
