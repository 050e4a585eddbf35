"""Drive the Node puppet-service peer (tests/peers/wechaty/peer.mjs) from async tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "wechaty"
PEER_SCRIPT = PEER_DIR / "peer.mjs"
MIN_NODE = 18
INSTALL_HINT = (
    "the wechaty end-to-end tests need Node.js >= 18 and npm: on Debian/Ubuntu `apt-get install nodejs npm` "
    "(or NodeSource's nodejs 20); then run the tests again"
)
Event = dict[str, Any]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def node_or_fail() -> str:
    """The node executable, or fail the test saying how to install it."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node not found: {INSTALL_HINT}", pytrace=False)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE:
        pytest.fail(f"node {version or '(unknown version)'} is too old: {INSTALL_HINT}", pytrace=False)
    return node


def ensure_node_modules() -> None:
    """Install the peer's pinned packages once (npm ci fails on this registry, see docs/wechat.md)."""
    if (PEER_DIR / "node_modules" / "wechaty-puppet-service").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm not found: {INSTALL_HINT}", pytrace=False)
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"npm install in {PEER_DIR} failed:\n{result.stderr[-2000:]}", pytrace=False)


class Peer:
    """One running peer: send commands, read its events, wait for what the bot did."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.endpoint = f"127.0.0.1:{port}"
        self.events: list[Event] = []
        self._changed = asyncio.Condition()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._err_reader: asyncio.Task[None] | None = None
        self.stderr: list[str] = []

    async def start(self, node: str, within: float = 20.0) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            node,
            str(PEER_SCRIPT),
            "--port",
            str(self.port),
            "--token",
            self.token,
            cwd=PEER_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        self._err_reader = asyncio.create_task(self._read_stderr())
        await self.wait_for(lambda e: e["event"] == "listening", within=within)

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        async for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "noise", "line": line}
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        async with self._changed:
            self.events.append({"event": "exited"})
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self._proc is not None
        assert self._proc.stderr is not None
        async for raw in self._proc.stderr:
            self.stderr.append(raw.decode("utf-8", "replace").rstrip())

    async def command(self, **cmd: Any) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(cmd, ensure_ascii=False) + "\n").encode())
        await self._proc.stdin.drain()

    async def contact(self, contact_id: str, name: str) -> None:
        await self.command(cmd="contact", id=contact_id, name=name)
        await self.wait_for(lambda e: e["event"] == "ok" and e.get("id") == contact_id)

    async def room(self, room_id: str, topic: str, members: list[str]) -> None:
        await self.command(cmd="room", id=room_id, topic=topic, members=members)
        await self.wait_for(lambda e: e["event"] == "ok" and e.get("id") == room_id)

    async def say(self, **cmd: Any) -> str:
        """Make a contact say something; returns the message id the peer gave it."""
        start = len(self.events)
        await self.command(cmd="say", **cmd)
        event = await self.wait_for(lambda e: e["event"] == "said", since=start)
        return str(event["id"])

    def sent(self) -> list[Event]:
        return [e for e in self.events if e["event"] == "sent"]

    async def wait_for(self, predicate: Callable[[Event], bool], within: float = 10.0, since: int = 0) -> Event:
        async def find() -> Event:
            async with self._changed:
                while True:
                    for event in self.events[since:]:
                        if event["event"] == "error":
                            raise AssertionError(f"peer error: {event['message']}")
                        if predicate(event):
                            return event
                    if self.events and self.events[-1]["event"] == "exited":
                        raise AssertionError(f"peer exited; stderr: {self.stderr[-20:]}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), within)
        except TimeoutError:
            raise AssertionError(f"peer: nothing matched in {within}s; last events {self.events[-5:]}") from None

    async def wait_sent(self, count: int, within: float = 10.0) -> list[Event]:
        await self.wait_for(lambda e: e["event"] == "sent" and e["n"] >= count, within=within)
        return self.sent()

    async def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        for task in (self._reader, self._err_reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._proc = None
