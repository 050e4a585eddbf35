"""The closed loop over WeChat, through the real service and the real puppet-service peer.

点单 in the room, 接单 in the room, 办结 by direct message, 评价 in the room; a command from someone who is
not responsible; a photo joining the report before it and a voice message answered politely; and the
deadline sweep, run with a fixed clock, reminding the 楼长 by direct message and in the room.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import Service
from storage.models import TicketState
from tests.harness import history, queued, stored, ticket, tickets
from tests.wechaty.peer import Peer
from tests.wechaty.service import LEADER, OTHER_LEADER, RESIDENT, ROOM, next_to, running_service, to

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEP = "\u2005"  # WeChat's separator after an @name; the adapter puts it after the @names it adds


@pytest.fixture
async def service(peer: Peer, tmp_path: Path) -> AsyncIterator[Service]:
    async with running_service(peer, tmp_path) as running:
        yield running


async def report(peer: Peer, text: str, **extra: object) -> int:
    """王阿姨 reports in the room; returns the ticket number the bot gave her (from its answer)."""
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": text, **extra})
    await next_to(peer, LEADER, mark)  # the new-task notice
    ack = await next_to(peer, ROOM, mark)
    assert ack["mentions"] == [RESIDENT]
    text_sent = str(ack["text"])
    number = re.match(r"@王阿姨 已记录 #(\d+)", text_sent)
    assert number is not None, text_sent
    return int(number.group(1))


async def test_accept_in_the_room_resolve_by_dm_and_the_residents_rating_close_the_ticket(
    service: Service, peer: Peer
) -> None:
    number = await report(peer, "6楼走廊灯坏了，晚上好黑")
    assert (await ticket(service, number)).state == TicketState.ASSIGNED

    # 接单 in the room: the room hears it, @-mentioning the resident who reported
    mark = len(peer.events)
    await peer.say(**{"from": LEADER, "room": ROOM, "text": f"接单 #{number}"})
    accepted = await next_to(peer, ROOM, mark)
    assert accepted["mentions"] == [RESIDENT]
    assert accepted["text"] == f"@王阿姨 #{number}「6楼走廊灯坏了，晚上好黑」已由 李杏珊 接单，正在处理。"
    assert (await ticket(service, number)).state == TicketState.ACCEPTED

    # 办结 by direct message: the room is told (mentioning her) and the 楼长's DM gets an answer
    mark = len(peer.events)
    await peer.say(**{"from": LEADER, "text": f"办结 #{number} 已换灯管"})
    in_room = await next_to(peer, ROOM, mark)
    in_dm = await next_to(peer, LEADER, mark)
    resolved = f"#{number} 已由 李杏珊 办结：已换灯管。"
    assert in_room["mentions"] == [RESIDENT]
    assert str(in_room["text"]).startswith(f"@王阿姨 {resolved}")
    assert f"评价 #{number} 满意" in str(in_room["text"])
    assert str(in_dm["text"]).startswith(resolved)
    assert in_dm["mentions"] == []
    found = await ticket(service, number)
    assert found.state == TicketState.RESOLVED

    # 评价 in the room closes it
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "text": f"评价 #{number} 满意"})
    rated = await next_to(peer, ROOM, mark)
    assert rated["mentions"] == [RESIDENT]
    assert rated["text"] == f"@王阿姨 谢谢您的评价（5 分），#{number} 已关闭。"
    assert (await ticket(service, number)).state == TicketState.CLOSED

    actions = [(e.action, e.actor) for e in await history(service, number)]
    assert [a for a, _ in actions if a in ("accept", "resolve", "close")] == ["accept", "resolve", "close"]
    assert len(to(peer, RESIDENT)) == 0  # everything for her went to the room


async def test_a_command_from_someone_not_responsible_is_refused_and_changes_nothing(
    service: Service, peer: Peer
) -> None:
    number = await report(peer, "3楼楼道灯不亮")

    # the 楼长 of another building, in this room
    mark = len(peer.events)
    await peer.say(**{"from": OTHER_LEADER, "room": ROOM, "text": f"接单 #{number}"})
    refused = await next_to(peer, ROOM, mark)
    assert refused["mentions"] == [OTHER_LEADER]
    assert refused["text"] == f"@梁伟明 抱歉，#{number} 只能由责任人或上级网格接单。"

    # the resident cannot resolve her own report either, not even by DM
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "text": f"办结 #{number}"})
    dm = await next_to(peer, RESIDENT, mark)
    assert dm["text"] == f"抱歉，#{number} 只能由责任人或上级网格办结。"
    assert dm["mentions"] == []

    found = await ticket(service, number)
    assert (found.state, found.accepted_at) == (TicketState.ASSIGNED, None)
    assert not [e for e in await history(service, number) if e.action in ("accept", "resolve")]


async def test_a_photo_after_a_report_is_attached_to_it(service: Service, peer: Peer) -> None:
    number = await report(peer, "楼下垃圾桶满了没人收")

    mark = len(peer.events)
    photo = await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "image"})
    attached = await next_to(peer, ROOM, mark)
    assert attached["mentions"] == [RESIDENT]
    assert attached["text"] == f"@王阿姨 照片已附在 #{number}，谢谢。"
    assert [e.note for e in await history(service, number) if e.action == "attach"] == [photo]
    assert len(await tickets(service)) == 1


async def test_a_photo_with_no_report_before_it_gets_no_answer(service: Service, peer: Peer) -> None:
    mark = len(peer.events)
    photo = await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "image"})
    voice = await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "audio"})
    # the adapter hands messages over in order and the outbox sends in order: had the photo been
    # answered, that answer would come first
    answer = await next_to(peer, ROOM, mark)
    assert "语音" in str(answer["text"])
    assert await stored(service) == {photo: "image", voice: "voice"}
    assert await tickets(service) == []


async def test_a_voice_message_gets_a_polite_request_for_text(service: Service, peer: Peer) -> None:
    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "audio"})
    in_room = await next_to(peer, ROOM, mark)
    assert in_room["mentions"] == [RESIDENT]
    assert str(in_room["text"]).startswith("@王阿姨 收到您的语音，麻烦用几个字写一下是什么事、在哪里")

    mark = len(peer.events)
    await peer.say(**{"from": RESIDENT, "type": "audio"})  # by direct message
    in_dm = await next_to(peer, RESIDENT, mark)
    assert str(in_dm["text"]).startswith("收到您的语音")
    assert in_dm["mentions"] == []
    assert await tickets(service) == []


async def test_stickers_are_still_ignored(service: Service, peer: Peer) -> None:
    mark = len(peer.events)
    sticker = await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "sticker"})
    voice = await peer.say(**{"from": RESIDENT, "room": ROOM, "type": "audio"})
    answer = await next_to(peer, ROOM, mark)  # the adapter reads in order: the sticker was read first
    assert "语音" in str(answer["text"])
    assert await stored(service) == {voice: "voice"}
    assert sticker not in await stored(service)


def millis(local: str) -> int:
    return int(datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).timestamp() * 1000)


MON = "2026-11-16"  # an ordinary working Monday, in the past: what the sweep queues is due at once


async def test_the_deadline_sweep_reminds_the_leader_by_dm_and_in_the_room(service: Service, peer: Peer) -> None:
    # reported on Monday at 09:00: a trivial ticket, to be accepted within 4 working hours
    number = await report(peer, "6楼走廊灯坏了", timestamp=millis(f"{MON} 09:00"))

    mark = len(peer.events)
    await service.scheduler.tick(datetime.fromisoformat(f"{MON} 11:00").replace(tzinfo=SHANGHAI))
    dm = await next_to(peer, LEADER, mark)
    nudge = await next_to(peer, ROOM, mark)
    assert (
        dm["text"]
        == f"【提醒】#{number}「6楼走廊灯坏了」（时代城3栋业主群）请于 11月16日 13:00 前接单，回复“接单 #{number}”。"
    )
    assert dm["mentions"] == []
    assert nudge["mentions"] == [LEADER]
    assert nudge["text"] == f"@李杏珊 #{number} 请于 11月16日 13:00 前接单。"
    assert str(nudge["text"]).count("@李杏珊") == 1
    assert [e.action for e in await history(service, number)].count("remind") == 1

    # the same instant again queues nothing more
    before = len(await queued(service, number))
    await service.scheduler.tick(datetime.fromisoformat(f"{MON} 11:00").replace(tzinfo=SHANGHAI))
    assert len(await queued(service, number)) == before


async def test_without_wechaty_in_mention_platforms_the_reminder_is_a_dm_only(peer: Peer, tmp_path: Path) -> None:
    schedule = {"escalation": {"mention_platforms": ["sim", "console"]}}
    async with running_service(peer, tmp_path, schedule=schedule) as service:
        number = await report(peer, "6楼走廊灯坏了", timestamp=millis(f"{MON} 09:00"))
        before = await queued(service, number)
        mark = len(peer.events)
        await service.scheduler.tick(datetime.fromisoformat(f"{MON} 11:00").replace(tzinfo=SHANGHAI))
        reminders = (await queued(service, number))[len(before) :]
        assert [(r.kind, r.recipient) for r in reminders] == [("dm", LEADER)]
        dm = await next_to(peer, LEADER, mark)
        assert str(dm["text"]).startswith(f"【提醒】#{number}")
