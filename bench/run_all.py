"""Every benchmark, one after the other, into one Markdown report with the machine's details.

Each benchmark runs in its own process (as ``python -m bench.<name> …``); the report lists the machine
(CPU, cores, memory, Python, SQLite and PostgreSQL versions, the load average before and after: a busy
machine says so) and then each benchmark's command, time and output. ``make bench`` runs this.

Run: python -m bench.run_all [--out bench/results.md] [--quick] [--only replay,sweep,...]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FULL: dict[str, list[str]] = {
    "classifier": ["bench.classifier_bench"],
    "sweep (SQLite)": ["bench.bench_sweep"],
    "sweep (PostgreSQL)": ["bench.bench_sweep", "--postgres"],
    "digest": ["bench.bench_digest"],
    "weekly digest (PostgreSQL)": ["bench.bench_weekly"],
    "desk": ["bench.bench_desk"],
    "council": ["bench.bench_council"],
    "check tier": ["bench.bench_checks"],
    "replay": ["bench.bench_replay"],
    "replay's floor (SQLite)": ["bench.sql_alone"],
    "several processes (PostgreSQL)": ["bench.bench_processes", "--processes", "1,2,3"],
}
QUICK: dict[str, list[str]] = {
    "classifier": ["bench.classifier_bench", "--messages", "20000"],
    "sweep (SQLite)": ["bench.bench_sweep"],
    "sweep (PostgreSQL)": ["bench.bench_sweep", "--postgres", "--tickets", "200000", "--due", "0.05"],
    "digest": ["bench.bench_digest"],
    "weekly digest (PostgreSQL)": ["bench.bench_weekly", "--communities", "50"],
    "desk": ["bench.bench_desk", "--tickets", "20000", "--rounds", "10"],
    "council": ["bench.bench_council", "--tickets", "20000"],
    "check tier": ["bench.bench_checks", "--tickets", "20000"],
    "replay": ["bench.bench_replay", "--messages", "10000", "--backlog", "0,1000,10000", "--repeat", "1"],
    "replay's floor (SQLite)": ["bench.sql_alone", "--messages", "4000", "--repeat", "2"],
    "several processes (PostgreSQL)": ["bench.bench_processes", "--messages", "6000"],
}


def _first_line(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _postgres_version() -> str:
    from glob import glob

    for bindir in sorted(glob("/usr/lib/postgresql/*/bin"), reverse=True):
        found = subprocess.run([f"{bindir}/postgres", "--version"], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            return found.stdout.strip()
    binary = shutil.which("postgres")
    if binary:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return "not installed"


def machine() -> list[tuple[str, str]]:
    memory_kb = _first_line("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(memory_kb) / 1024 / 1024:.1f} GiB" if memory_kb.isdigit() else "?"
    return [
        ("CPU", _first_line("/proc/cpuinfo", "model name")),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", _postgres_version()),
    ]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: minutes instead of hours")
    parser.add_argument("--only", default="", help="comma-separated names from: " + ", ".join(FULL))
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    started = datetime.now(UTC)
    sections = []
    before = load()
    for name, module in plan.items():
        if wanted and not any(name.startswith(w) for w in wanted):
            continue
        command = [sys.executable, "-m", *module]
        print(f"running {name}: {' '.join(module)}", file=sys.stderr)
        began, load_before = time.perf_counter(), load()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
        output = (done.stdout + ("\n" + done.stderr if done.returncode else "")).strip()
        sections.append(
            f"## {name}\n\n`python -m {' '.join(module)}`: {seconds:.0f} s, exit {done.returncode}, "
            f"load average before {load_before}, after {load()}\n\n```\n{output}\n```\n"
        )
    header = [
        "# linli benchmarks",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC{' (quick sizes)' if args.quick else ''}; load average (1/5/15 min) "
        f"at the start {before}, at the end {load()}. A load average above the number of cores means other work "
        "shared the machine: compare figures within one run, and rerun on a quiet machine before trusting them.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in machine()),
        "",
    ]
    args.out.write_text("\n".join(header) + "\n" + "\n".join(sections), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
