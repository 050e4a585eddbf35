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

from bot.app import Service, default_adapters, import_org, open_store
from config.settings import Settings
from storage.models import Ticket
from storage.ticket_repo import TicketRepo
from tests.conftest import EXAMPLE_ORG
from tests.wechaty.conftest import TOKEN, fast_settings
from tests.wechaty.peer import Peer, free_port

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

ROOM = "20001@chatroom"  # bound to 时代城3栋 (sdc-3) in config/example-org.yaml
RESIDENT = "c-wang"
LEADER = "wxid_li21"  # 李杏珊, 党员楼长 of 时代城3栋
BRANCH = "wxid_tan11"  # 谭丽娟, 时代城小区党支部书记
COMMITTEE = ("wxid_chen01", "wxid_huang02")  # 社区党委
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
    await peer.contact(RESIDENT, "王阿姨")
    for contact_id, name in ((LEADER, "李杏珊"), (BRANCH, "谭丽娟"), (COMMITTEE[0], "陈志华"), (COMMITTEE[1], "黄敏")):
        await peer.contact(contact_id, name)
    await peer.room(ROOM, "时代城3栋业主群", [RESIDENT, LEADER])
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        wechaty=fast_settings(peer.endpoint),
    )
    async with open_store(settings) as store:
        await import_org(store, EXAMPLE_ORG)
        running = Service(settings, store, default_adapters(settings))  # the wiring `linli run` uses
        await running.start(http=False)
        try:
            yield running
        finally:
            await running.stop()


async def tickets(service: Service) -> list[Ticket]:
    async with service.store.sessions() as session:
        return list(await TicketRepo(session).list())


async def ticket_count(service: Service) -> int:
    async with service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


def to(peer: Peer, conversation: str) -> list[dict[str, object]]:
    return [e for e in peer.sent() if e["conversation"] == conversation]


async def test_the_service_runs_the_wechaty_adapter(service: Service) -> None:
    assert [a.platform for a in service.adapters] == ["wechaty"]
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
