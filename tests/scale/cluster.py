"""Real ``linli run`` processes on one database, driven over the simulated platform's HTTP intake.

Each process runs with its own ``instance`` name, HTTP port and sent log (``sim.sent_log``); a test feeds
it recorded messages with ``post`` (``POST /sim/messages``, answered once the message is stored) and reads
what every process sent from the logs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOKEN = "test-intake-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def linli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run one ``linli`` command to completion."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | env
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=full, capture_output=True, text=True, timeout=timeout, check=False
    )


def write_config(path: Path, database_url: str, **extra: Any) -> Path:
    """Settings for the processes: quiet hours off and calendar clocks (reminders are due whatever the day
    the test runs), a sweep every 5 seconds, the weekly digest every minute."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "nlp": {"watch_seconds": 0},
        "schedule": {
            "sweep_seconds": 5,
            "quiet_hours": {"enabled": False, "start": "22:00", "end": "08:00"},
            "sla": {
                "urgent": {"accept": "15m", "resolve": "24h", "clock": "calendar"},
                "major": {"accept": "2h", "resolve": "7d", "clock": "calendar"},
                "trivial": {"accept": "4h", "resolve": "48h", "clock": "calendar"},
            },
            "digest": {"enabled": True, "cron": "* * * * *"},
            "council": {"enabled": False},
        },
        **extra,
    }
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


class NotStored(Exception):
    """The process did not answer, or answered that the message was not stored: send it again."""


@dataclass
class LinliProcess:
    name: str
    config: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def sent_log(self) -> Path:
        return self.workdir / f"{self.name}-sent.jsonl"

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        return base | {
            "LINLI_CONFIG": str(self.config),
            "LINLI_INSTANCE": self.name,
            "LINLI_HTTP__PORT": str(self.port),
            "LINLI_SIM__INGEST_TOKEN": TOKEN,
            "LINLI_SIM__SENT_LOG": str(self.sent_log),
        }

    def start(self) -> None:
        self.starts += 1
        log = (self.workdir / f"{self.name}-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=self.env(), cwd=self.workdir, stdout=log, stderr=log
        )

    def wait_ready(self, within: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, f"{self.name} exited: {self.log_tail()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                    body: dict[str, Any] = json.loads(response.read())
                    return body
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise AssertionError(f"{self.name} never answered /healthz: {self.log_tail()}")

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def post(self, record: dict[str, Any], timeout: float = 180) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/sim/messages",
            data=json.dumps(record, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise AssertionError(f"{self.name} refused {record['message_id']}: {exc.code} {exc.read()!r}") from exc
            raise NotStored(f"{exc.code}: {exc.read()[:200]!r}") from exc
        except OSError as exc:
            raise NotStored(str(exc)) from exc

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, whatever was in flight stays as it was."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / f"{self.name}-{self.starts}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def sent(self) -> list[dict[str, Any]]:
        """What the process sent; a line cut short by SIGKILL is left out (its item is 'unknown')."""
        if not self.sent_log.exists():
            return []
        entries = []
        for line in self.sent_log.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return entries


def deliver(process: LinliProcess, records: list[dict[str, Any]], answers: dict[str, dict[str, Any]]) -> Iterator[int]:
    """Send ``records`` in order as a platform would: each until the process says it is stored (a process
    that is down or has lost its database is asked again). Yields after each message is acknowledged."""
    for index, record in enumerate(records):
        while True:
            try:
                answers[record["message_id"]] = process.post(record)
                break
            except NotStored:
                time.sleep(0.2)
        yield index
