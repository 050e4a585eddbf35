"""End to end against a real puppet-service server (Node, wechaty-puppet-service 1.19.9 over PuppetMock)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.base import AdapterStartError, SendError
from bot.message import DIRECT_CHAT, DirectMessage, Say, SendImage
from tests.wechaty.conftest import Inbox, fast_settings
from tests.wechaty.peer import Peer, free_port

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

from bot.adapters.wechaty import WechatyAdapter

ROOM = "r-3dong@chatroom"
BOT = "bot-self"
WANG = "c-wang"
LI = "c-li"


@pytest.fixture
async def world(peer: Peer) -> Peer:
    await peer.contact(WANG, "王阿姨")
    await peer.contact(LI, "李楼长")
    await peer.room(ROOM, "3栋业主群", [WANG, LI])
    return peer


async def test_a_residents_room_message_arrives_with_every_field(
    adapter: WechatyAdapter, world: Peer, inbox: Inbox
) -> None:
    message_id = await world.say(
        **{"from": WANG, "room": ROOM, "text": "@邻里小助手\u20053栋电梯又坏了[强]", "mentions": [BOT]}
    )
    got = await inbox.wait_for(lambda m: m.message_id == message_id)
    assert got.platform == "wechaty"
    assert (got.chat_id, got.chat_name) == (ROOM, "3栋业主群")
    assert (got.sender_id, got.sender_name) == (WANG, "王阿姨")
    assert got.text == "3栋电梯又坏了[强]"
    assert got.mentions == (BOT,)
    assert got.content_type == "text"
    assert got.time.tzinfo is not None
    assert abs(got.time - datetime.now(UTC)) < timedelta(seconds=30)
    assert adapter.health()["connected"] is True


async def test_mentions_of_other_people_are_kept_as_ids_and_stripped(
    adapter: WechatyAdapter, world: Peer, inbox: Inbox
) -> None:
    message_id = await world.say(**{"from": WANG, "room": ROOM, "text": "@李楼长 楼道灯不亮", "mentions": [LI]})
    got = await inbox.wait_for(lambda m: m.message_id == message_id)
    assert got.mentions == (LI,)
    assert got.text == "楼道灯不亮"


async def test_say_with_mentions_reaches_the_peer_with_the_mention_ids(adapter: WechatyAdapter, world: Peer) -> None:
    await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="已收到，已派单给楼长", mentions=(WANG, LI)))
    [sent] = await world.wait_sent(1)
    assert sent["conversation"] == ROOM
    assert sent["mentions"] == [WANG, LI]
    assert sent["text"] == "@王阿姨\u2005@李楼长\u2005已收到，已派单给楼长"
    assert adapter.health()["sent"] == 1


async def test_direct_messages_both_ways(adapter: WechatyAdapter, world: Peer, inbox: Inbox) -> None:
    message_id = await world.say(**{"from": LI, "text": "接单"})
    got = await inbox.wait_for(lambda m: m.message_id == message_id)
    assert (got.chat_id, got.chat_name, got.sender_id, got.sender_name) == (DIRECT_CHAT, "", LI, "李楼长")
    assert got.is_direct
    assert got.text == "接单"
    assert got.mentions == ()

    await adapter.send(DirectMessage(platform="wechaty", to=LI, text="新工单：3栋电梯故障"))
    [sent] = await world.wait_sent(1)
    assert (sent["conversation"], sent["text"], sent["mentions"]) == (LI, "新工单：3栋电梯故障", [])


async def test_the_bots_own_messages_are_not_fed_back(adapter: WechatyAdapter, world: Peer, inbox: Inbox) -> None:
    # PuppetMock echoes what the bot says as a message event from the bot itself.
    await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="大家好"))
    await world.wait_sent(1)
    after = await world.say(**{"from": WANG, "room": ROOM, "text": "你好"})
    await inbox.wait_for(lambda m: m.message_id == after)
    assert [m.sender_id for m in inbox.messages] == [WANG]
    assert adapter.health()["ignored"] >= 1


async def test_an_image_goes_out_as_a_file(adapter: WechatyAdapter, world: Peer, tmp_path: Path) -> None:
    chart = tmp_path / "digest.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    await adapter.send(SendImage(platform="wechaty", chat_id=ROOM, path=str(chart), caption="本周小结"))
    image, caption = await world.wait_sent(2)
    assert (image["kind"], image["conversation"], image["name"], image["size"]) == (
        "file",
        ROOM,
        "digest.png",
        208,
    )
    assert (caption["kind"], caption["text"]) == ("text", "本周小结")


async def test_sending_a_missing_image_is_a_send_error(adapter: WechatyAdapter, tmp_path: Path) -> None:
    with pytest.raises(SendError, match="does not exist"):
        await adapter.send(SendImage(platform="wechaty", chat_id=ROOM, path=str(tmp_path / "nope.png")))
    assert adapter.health()["send_failed"] == 1


async def test_wrong_token_fails_start_quickly_and_clearly(world: Peer, inbox: Inbox) -> None:
    adapter = WechatyAdapter(fast_settings(world.endpoint, token="not-the-token"))
    began = time.monotonic()
    with pytest.raises(AdapterStartError, match="wrong token") as failure:
        await adapter.start(inbox.feed)
    assert time.monotonic() - began < 30
    health = adapter.health()
    assert health["connected"] is False
    # the server echoes a wrong token in its error; linli never repeats it
    assert "not-the-token" not in str(failure.value)
    assert "not-the-token" not in str(health["last_error"])


async def test_unreachable_endpoint_fails_start_quickly(inbox: Inbox) -> None:
    adapter = WechatyAdapter(fast_settings(f"127.0.0.1:{free_port()}"))
    began = time.monotonic()
    with pytest.raises(AdapterStartError, match="cannot connect"):
        await adapter.start(inbox.feed)
    assert time.monotonic() - began < 30


async def test_no_endpoint_is_a_start_error(inbox: Inbox) -> None:
    with pytest.raises(AdapterStartError, match="LINLI_WECHATY__ENDPOINT"):
        await WechatyAdapter(fast_settings("")).start(inbox.feed)


async def test_two_adapters_one_after_another_in_one_process(world: Peer, inbox: Inbox) -> None:
    # wechaty.Wechaty keeps contacts and rooms in class-level pools shared by every bot (pitfall 10);
    # the adapter does not use that layer, so a second bot in the same process just works.
    for round_ in range(2):
        adapter = WechatyAdapter(fast_settings(world.endpoint))
        await adapter.start(inbox.feed)
        try:
            message_id = await world.say(**{"from": WANG, "room": ROOM, "text": f"第{round_}次"})
            await inbox.wait_for(lambda m, mid=message_id: m.message_id == mid)  # type: ignore[misc]
            await adapter.send(Say(platform="wechaty", chat_id=ROOM, text=f"回复{round_}", mentions=(WANG,)))
            await world.wait_sent(round_ + 1)
        finally:
            await adapter.stop()
    assert [e["text"] for e in world.sent()] == ["@王阿姨\u2005回复0", "@王阿姨\u2005回复1"]


async def test_messages_said_around_the_attach_arrive_in_the_order_they_were_said(world: Peer, inbox: Inbox) -> None:
    # The peer holds what is said before a bot attaches and delivers it shortly after the attach; what
    # is said in between must queue behind that backlog, or the bot reads the two out of order.
    before = await world.say(**{"from": WANG, "room": ROOM, "text": "先说的"})
    mark = len(world.events)
    adapter = WechatyAdapter(fast_settings(world.endpoint))
    starting = asyncio.create_task(adapter.start(inbox.feed))
    try:
        await world.wait_for(lambda e: e["event"] == "attached", since=mark)
        after = [await world.say(**{"from": WANG, "room": ROOM, "text": f"后说的{n}"}) for n in range(3)]
        await starting
        await inbox.wait_count(4)
    finally:
        await adapter.stop()
        starting.cancel()
    assert [m.message_id for m in inbox.messages] == [before, *after]
