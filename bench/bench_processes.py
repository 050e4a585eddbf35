"""Several ``linli replay`` processes on one PostgreSQL at once: what the machine does, not one process.

A district's evening (bench/workload.py) is split by community over N processes, as a deployment splits
a district (docs/scaling.md, "How to split processes"); each process replays its share into the same
database at the same time, as its own instance, the server on the same machine. Each N runs on a fresh
database with the same backlog and the same messages; N = 1 in the same round is the baseline.

Figures: messages/s of all processes together (every message over the longest replay; start-up left out,
as replay leaves it out of its own rate), the worst p99, CPU per message of the linli processes together
(each one's start-up included, the server's not counted), the highest peak RSS. Every run checks that
the processes together opened exactly the tickets the workload says they would.

The workload has no ticket commands by default (``--mix 0.2:0``): a command names its ticket by number,
and while several processes open tickets at once the numbers interleave, so the workload's commands
would name other groups' tickets.

Run: python -m bench.bench_processes [--messages 20000] [--groups 200] [--backlog 1000] [--processes 1,2]
     [--repeat 1] [--mix 0.2:0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bench.bench_replay import database, evening, finish_replay, mixes, start_replay
from bench.workload import District
from bot.app import open_store
from config.settings import Settings
from storage.models import Ticket


@dataclass
class Together:
    processes: int
    messages: int
    rate: float
    p99_ms: float
    cpu_ms: float
    rss_mb: float
    shares: list[int]
    """Messages each process replayed."""


def split(infile: Path, district: District, parts: int) -> list[Path]:
    """``infile`` as ``parts`` files, each with the messages of whole communities, in their order."""
    communities = sorted({group.community for group in district.groups()})
    part_of = {group.chat_id: communities.index(group.community) % parts for group in district.groups()}
    shares: dict[int, list[str]] = defaultdict(list)
    with infile.open(encoding="utf-8") as stream:
        for line in stream:
            shares[part_of[json.loads(line)["chat_id"]]].append(line)
    out = []
    for part in range(parts):
        path = infile.with_name(f"{infile.stem}-{part + 1}-of-{parts}.jsonl")
        path.write_text("".join(shares[part]), encoding="utf-8")
        out.append(path)
    return out


async def ticket_count(url: str) -> int:
    async with open_store(Settings(database_url=url)) as store, store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


def one_run(url: str, processes: int, args: argparse.Namespace, folder: Path) -> Together:
    district, workload, infile = evening(
        url, folder, groups=args.groups, backlog=args.backlog, messages=args.messages, mix=mixes(args.mix)[0]
    )
    before = asyncio.run(ticket_count(url))
    parts = split(infile, district, processes)
    started = [
        start_replay(url, part, part.with_suffix(".out"), instance=f"bench-{n + 1}") for n, part in enumerate(parts)
    ]
    try:
        finished = [finish_replay(one) for one in started]
    finally:
        for one in started:  # one replay failed: stop the others rather than leave them running
            if one.proc.poll() is None:
                one.proc.kill()
                one.proc.wait()
    opened = asyncio.run(ticket_count(url)) - before
    if opened != workload.tickets:
        raise SystemExit(f"{processes} process(es) opened {opened} tickets, the workload expects {workload.tickets}")
    counts = [int(summary["count"]) for summary, *_ in finished]
    total = sum(counts)
    longest = max(float(summary["seconds"]) for summary, *_ in finished)
    return Together(
        processes,
        total,
        total / longest,
        max(float(summary["p99"]) for summary, *_ in finished),
        sum(cpu for _, _, cpu, _ in finished) * 1000 / total,
        max(rss for _, rss, _, _ in finished),
        counts,
    )


def measure(args: argparse.Namespace) -> list[Together]:
    runs: dict[int, list[Together]] = defaultdict(list)
    counts = [int(n) for n in args.processes.split(",")]
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="linli-bench-processes-"))
        fresh = database("postgres", folder, stack)
        for _ in range(args.repeat):
            for processes in counts:
                run = one_run(fresh(), processes, args, folder)
                runs[processes].append(run)
                print(
                    f"  {processes} process(es): {run.rate:.0f} msg/s together, p99 {run.p99_ms:.0f} ms, "
                    f"{run.cpu_ms:.2f} CPU ms/msg, shares {run.shares}",
                    file=sys.stderr,
                )
    return [
        Together(
            n,
            found[0].messages,
            statistics.median(r.rate for r in found),
            statistics.median(r.p99_ms for r in found),
            statistics.median(r.cpu_ms for r in found),
            statistics.median(r.rss_mb for r in found),
            found[0].shares,
        )
        for n, found in runs.items()
    ]


def table(runs: list[Together]) -> str:
    lines = [
        "| processes | messages | messages/s together | vs one process | worst p99 ms | CPU ms per message "
        "(linli) | highest peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((r.rate for r in runs if r.processes == 1), None)
    for r in runs:
        share = f"{r.rate / base:.0%}" if base else ""
        lines.append(
            f"| {r.processes} | {r.messages:,} | {r.rate:,.0f} | {share} | {r.p99_ms:.1f} | {r.cpu_ms:.2f} "
            f"| {r.rss_mb:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1000, help="open tickets before the replay")
    parser.add_argument("--processes", default="1,2", help="numbers of processes to compare, in each round")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--mix", default="0.2:0", help='shares of reports and commands, "R:C"')
    args = parser.parse_args()
    started = time.perf_counter()
    print(table(measure(args)))
    print(f"\n({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)


if __name__ == "__main__":
    main()
