"""The full loop through the real service: WeChat room -> adapter -> pipeline -> ticket -> outbox -> WeChat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Service
from storage.models import Ticket
from tests.harness import tickets
from tests.wechaty.conftest import TOKEN
from tests.wechaty.peer import Peer, free_port
from tests.wechaty.service import BRANCH, COMMITTEE, LEADER, RESIDENT, ROOM, running_service, to

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

ROOT = Path(__file__).resolve().parents[2]


def run_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """The environment for ``python -m bot run`` of *this* checkout (the venv may hold another one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["PYTHONPATH"] = str(ROOT)
    env["LINLI_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    env["LINLI_HTTP__PORT"] = str(free_port())
    return env | values


@pytest.fixture
async def service(peer: Peer, tmp_path: Path) -> AsyncIterator[Service]:
    async with running_service(peer, tmp_path) as running:
        yield running


async def ticket_count(service: Service) -> int:
    async with service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_the_service_runs_the_wechaty_adapter(service: Service) -> None:
    assert [a.platform for a in service.adapters] == ["wechaty", "open311"]
    assert service.status()["adapters"]["wechaty"]["connected"] is True  # type: ignore[index]


async def test_a_residents_report_becomes_a_ticket_and_the_bot_answers_mentioning_her(
    service: Service, peer: Peer
) -> None:
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "6楼走廊灯坏了，晚上好黑"})
    await peer.wait_for(lambda e: e["event"] == "sent" and e["conversation"] == LEADER)
    await peer.wait_for(lambda e: e["event"] == "sent" and e["conversation"] == ROOM)

    [ticket] = await tickets(service)
    assert (ticket.platform, ticket.chat_id, ticket.unit_id, ticket.assignee_id) == ("wechaty", ROOM, "sdc-3", "p-li")
    assert [(r.platform, r.sender_id, r.sender_name) for r in ticket.reporters] == [("wechaty", RESIDENT, "王阿姨")]

    [ack] = to(peer, ROOM)
    assert ack["mentions"] == [RESIDENT]
    text = str(ack["text"])
    assert text.startswith(f"@王阿姨 已记录 #{ticket.id}")
    assert text.count("@王阿姨") == 1  # the core wrote the @name; the adapter did not repeat it
    assert "楼长 李杏珊" in text
    [task] = to(peer, LEADER)
    assert f"接单 #{ticket.id}" in str(task["text"])


async def test_an_urgent_report_reaches_every_level(service: Service, peer: Peer) -> None:
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "2单元楼道有好浓的煤气味，快来人"})
    for contact in (LEADER, BRANCH, *COMMITTEE):
        await peer.wait_for(lambda e, c=contact: e["event"] == "sent" and e["conversation"] == c)  # type: ignore[misc]
    await peer.wait_for(lambda e: e["event"] == "sent" and e["conversation"] == ROOM)

    [ticket] = await tickets(service)
    assert ticket.kind == "major"
    assert ticket.urgent
    assert "【紧急】" in str(to(peer, LEADER)[0]["text"])
    [ack] = to(peer, ROOM)
    assert ack["mentions"] == [RESIDENT]
    assert "119" in str(ack["text"])


async def test_a_peer_restart_neither_loses_nor_doubles_a_ticket(service: Service, peer: Peer) -> None:
    first = await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "楼下垃圾没人收"})
    await peer.wait_for(lambda e: e["event"] == "sent" and e["conversation"] == ROOM)

    mark = len(peer.events)
    # the service goes away and comes back re-delivering the report above with its original id
    await peer.command(cmd="restart", down_ms=600, replay=1)
    await peer.wait_for(lambda e: e["event"] == "detached", since=mark)
    second = await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "3楼楼道灯不亮"})
    await peer.wait_for(lambda e: e["event"] == "replayed" and e["ids"] == [first], since=mark)
    await peer.wait_for(lambda e: e["event"] == "sent" and e["conversation"] == ROOM and e["n"] >= 3, within=15)

    assert second != first
    found = await tickets(service)
    assert sorted(t.summary for t in found) == sorted(["楼下垃圾没人收", "3楼楼道灯不亮"])
    assert await ticket_count(service) == 2
    acks = [str(e["text"]) for e in to(peer, ROOM)]
    assert len(acks) == 2, acks
    health = service.status()["adapters"]["wechaty"]  # type: ignore[index]
    assert health["reconnects"] >= 1  # type: ignore[index]
    assert health["received"] == 3  # type: ignore[index]  # the replay reached the core, which dropped it


def test_linli_run_exits_non_zero_with_a_named_error_on_a_wrong_endpoint(tmp_path: Path) -> None:
    env = run_env(tmp_path, LINLI_WECHATY__ENDPOINT=f"127.0.0.1:{free_port()}", LINLI_WECHATY__TOKEN=TOKEN)
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert time.monotonic() - began < 30
    assert result.returncode != 0
    assert "AdapterStartError" in result.stderr
    assert TOKEN not in result.stderr


async def test_linli_run_exits_non_zero_on_a_wrong_token(peer: Peer, tmp_path: Path) -> None:
    env = run_env(tmp_path, LINLI_WECHATY__ENDPOINT=peer.endpoint, LINLI_WECHATY__TOKEN="someone-elses-token")
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert time.monotonic() - began < 30
    assert proc.returncode != 0
    assert "AdapterStartError" in stderr.decode()
    assert "wrong token" in stderr.decode()
    assert "someone-elses-token" not in stderr.decode()
