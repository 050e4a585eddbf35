"""The council end to end on personal WeChat: a report taken to the council, a household vote in the room
and by direct message, the tally announced in the room; a suggestion and its answer. Through the Node
puppet-service peer and linli's real service (see tests/wechaty/service.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.app import Service
from handlers.tally import recount
from storage.council_models import Vote
from tests.harness import tickets
from tests.wechaty.peer import Peer
from tests.wechaty.service import COMMITTEE, LEADER, RESIDENT, ROOM, next_to, running_service, to

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

NEIGHBOUR = "c-liu"  # 刘生, another resident of 时代城3栋


@pytest.fixture
async def service(peer: Peer, tmp_path: Path) -> AsyncIterator[Service]:
    await peer.contact(NEIGHBOUR, "刘生")
    async with running_service(peer, tmp_path) as running:
        yield running


async def said(peer: Peer, conversation: str, since: int, needle: str) -> str:
    event = await peer.wait_for(
        lambda e: e["event"] == "sent" and e["conversation"] == conversation and needle in str(e["text"]),
        since=since,
        within=15,
    )
    return str(event["text"])


async def test_a_household_vote_in_the_room_from_report_to_tally(service: Service, peer: Peer) -> None:
    chen = COMMITTEE[0]
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "3栋楼下想装几个充电桩，电动车在楼道充电好危险"})
    await next_to(peer, ROOM, mark)
    [ticket] = await tickets(service)
    assert ticket.kind == "major"

    mark = len(peer.events)
    await peer.say(**{"from": chen, "text": f"上会 #{ticket.id}"})
    assert "已列入党群议事会议题" in await said(peer, chen, mark, "议题")
    assert "已提交党群议事会" in await said(peer, ROOM, mark, "议事会")

    until = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    mark = len(peer.events)
    await peer.say(**{"from": chen, "text": f"发起表决 #{ticket.id} 充电桩安装位置 截止 {until}"})
    call = await said(peer, ROOM, mark, "【户表决】")
    assert "表决时请注明房号" in call  # 时代城3栋 lists no households: each room named is one

    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "同意 1502"})
    assert "已收到 1502 户的表决" in await said(peer, ROOM, mark, "1502")
    mark = len(peer.events)
    await peer.say(**{"from": NEIGHBOUR, "room": ROOM, "text": "2 801"})
    assert "已收到 801 户的表决" in await said(peer, ROOM, mark, "801")
    mark = len(peer.events)
    await peer.say(**{"from": NEIGHBOUR, "text": f"同意 #{ticket.id} 801"})  # changes his mind, privately
    assert "801 户已表决过，以这次为准" in await said(peer, NEIGHBOUR, mark, "801")

    # the deadline passes (moved, rather than waited for); the job counts and announces in the room
    async with service.store.sessions.begin() as session:
        await session.execute(update(Vote).values(deadline=datetime.now(UTC) - timedelta(seconds=1)))
    mark = len(peer.events)
    await service.scheduler.run("close_due_votes")
    tally = await said(peer, ROOM, mark, "【表决结果】")
    assert "已参加 2 户；同意 2 户，反对 0 户，弃权 0 户" in tally
    assert tally.endswith("表决通过。")
    async with service.store.sessions() as session:
        vote = await session.scalar(select(Vote))
        assert vote is not None
        assert vote.result == (await recount(session, vote)).as_json()
    assert len([e for e in to(peer, ROOM) if "【表决结果】" in str(e["text"])]) == 1


async def test_a_suggestion_by_direct_message_and_the_leaders_answer(service: Service, peer: Peer) -> None:
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": "大家早晨"})
    await peer.say(**{"from": RESIDENT, "text": "建议 小区门口加个快递柜"})
    assert "已收到您的建议（#S1）" in await said(peer, RESIDENT, mark, "#S1")
    letter = await said(peer, LEADER, mark, "【楼长信箱】")
    assert "时代城3栋" in letter
    mark = len(peer.events)
    await peer.say(**{"from": LEADER, "text": "回复建议 #S1 已向物业反映"})
    assert "李杏珊 回复：已向物业反映" in await said(peer, RESIDENT, mark, "回复")
