"""The adapter against the real peer when things go wrong: restarts, bursts, odd messages."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from bot.adapters.base import SendError
from bot.message import IncomingMessage, Say
from config.settings import RateLimit
from tests.wechaty.conftest import Inbox, fast_settings
from tests.wechaty.peer import Peer

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

from bot.adapters.wechaty import WechatyAdapter

ROOM = "r-5dong@chatroom"
BOT = "bot-self"
WANG = "c-wang"


@pytest.fixture
async def world(peer: Peer) -> Peer:
    await peer.contact(WANG, "王阿姨")
    await peer.room(ROOM, "5栋", [WANG])
    return peer


async def test_peer_restart_mid_conversation_loses_nothing_and_replays_keep_their_ids(
    adapter: WechatyAdapter, world: Peer, inbox: Inbox
) -> None:
    first = await world.say(**{"from": WANG, "room": ROOM, "text": "1502漏水了"})
    second = await world.say(**{"from": WANG, "room": ROOM, "text": "楼下也在滴"})
    await inbox.wait_count(2)

    mark = len(world.events)
    await world.command(cmd="restart", down_ms=600, replay=2)
    await world.wait_for(lambda e: e["event"] == "detached", since=mark)
    # said while the bot is away: the new server keeps it until the bot is back (no lost message)
    during = await world.say(**{"from": WANG, "room": ROOM, "text": "还在漏"})
    # and the bot answers while disconnected: send waits for the reconnect instead of failing
    reply = asyncio.create_task(adapter.send(Say(platform="wechaty", chat_id=ROOM, text="已通知物业")))
    await world.wait_for(lambda e: e["event"] == "restarted", since=mark)
    await world.wait_for(lambda e: e["event"] == "replayed", since=mark)
    await inbox.wait_for(lambda m: m.message_id == during)
    await asyncio.wait_for(reply, 10)
    [sent] = await world.wait_sent(1)
    assert sent["text"] == "已通知物业"

    ids = [m.message_id for m in inbox.messages]
    # the service re-delivered the two earlier messages with their original ids: the core's
    # platform + message id dedupe sees each message exactly once
    assert ids.count(first) == 2
    assert ids.count(second) == 2
    assert ids.count(during) == 1
    assert {(m.platform, m.message_id) for m in inbox.messages} == {
        ("wechaty", first),
        ("wechaty", second),
        ("wechaty", during),
    }
    replayed = [m for m in inbox.messages if m.message_id == first]
    assert replayed[0] == replayed[1]  # the same message, field for field

    health = adapter.health()
    assert health["connected"] is True
    assert health["reconnects"] >= 1
    assert health["last_error"]


async def test_a_send_fails_with_send_error_when_the_service_stays_away(world: Peer, inbox: Inbox) -> None:
    adapter = WechatyAdapter(fast_settings(world.endpoint, send_wait_seconds=0.5))
    await adapter.start(inbox.feed)
    try:
        await world.stop()
        with pytest.raises(SendError, match="not connected"):
            await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="有人吗"))
        health = adapter.health()
        assert health["connected"] is False
        assert health["last_error"]
    finally:
        await adapter.stop()


async def test_a_burst_of_100_messages_from_10_rooms_all_arrive_and_replies_are_paced(
    world: Peer, inbox: Inbox
) -> None:
    account_rate, room_rate = 40.0, 8.0
    rooms = [f"r-{i}@chatroom" for i in range(10)]
    for room in rooms:
        await world.room(room, f"{room[2]}栋", [WANG])
    adapter = WechatyAdapter(
        fast_settings(
            world.endpoint,
            account_limit=RateLimit(per_second=account_rate, per_minute=100_000),
            room_limit=RateLimit(per_second=room_rate, per_minute=100_000),
        )
    )
    replies: list[asyncio.Task[None]] = []

    async def answer(message: IncomingMessage) -> None:  # what the core's outbox would do
        await inbox.feed(message)
        say = Say(platform="wechaty", chat_id=message.chat_id, text=f"收到 {message.text}", mentions=(WANG,))
        replies.append(asyncio.create_task(adapter.send(say)))

    await adapter.start(answer)
    try:
        for n in range(10):
            for room in rooms:
                await world.command(cmd="say", **{"from": WANG, "room": room, "text": f"{room} #{n}"})
        await inbox.wait_count(100, within=20)
        sent = await world.wait_sent(100, within=30)
        await asyncio.gather(*replies)
    finally:
        await adapter.stop()

    assert sorted(m.text for m in inbox.messages) == sorted(f"{r} #{n}" for r in rooms for n in range(10))
    assert len({m.message_id for m in inbox.messages}) == 100
    assert len(sent) == 100
    assert all(e["mentions"] == [WANG] for e in sent)
    # Measured where WeChat would see it: the peer's clock. gRPC adds jitter to single gaps, so check
    # spans: any 20 consecutive sends take at least 19 account gaps, less 60 ms of slack.
    times = sorted(e["t"] for e in sent)
    for i in range(len(times) - 19):
        assert times[i + 19] - times[i] >= 19 * 1000 / account_rate - 60
    assert times[-1] - times[0] >= 99 * 1000 / account_rate - 60
    for room in rooms:
        room_times = sorted(e["t"] for e in sent if e["conversation"] == room)
        assert len(room_times) == 10
        assert room_times[-1] - room_times[0] >= 9 * 1000 / room_rate - 60
        assert all(b - a >= 1000 / room_rate - 60 for a, b in itertools.pairwise(room_times))


async def test_odd_messages_do_not_crash_the_adapter(
    world: Peer, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.wechaty")
    await world.contact("c-noname", "")
    await world.room("r-notopic@chatroom", "", [WANG, "c-noname"])
    adapter = WechatyAdapter(fast_settings(world.endpoint), max_text_chars=10_000)
    await adapter.start(inbox.feed)
    try:
        image = await world.say(**{"from": WANG, "room": ROOM, "type": "image"})
        sticker = await world.say(**{"from": WANG, "room": ROOM, "type": "sticker"})
        no_topic = await world.say(**{"from": "c-noname", "room": "r-notopic@chatroom", "text": "路灯坏了"})
        left = await world.say(
            **{"from": WANG, "room": ROOM, "text": "@张三 你家的车挡路了", "mentions": ["c-moved-away"]}
        )
        emoji = await world.say(**{"from": WANG, "room": ROOM, "text": "谢谢楼长[强][玫瑰]/:heart"})
        paste = await world.say(**{"from": WANG, "room": ROOM, "text": "通知" * 5_000})
        too_long = await world.say(**{"from": WANG, "room": ROOM, "text": "长" * 12_000})
        last = await world.say(**{"from": WANG, "room": ROOM, "text": "最后一条"})
        await inbox.wait_for(lambda m: m.message_id == last)
    finally:
        await adapter.stop()

    got = {m.message_id: m for m in inbox.messages}
    assert (got[image].content_type, got[image].text) == ("image", "")  # forwarded by default
    assert sticker not in got
    assert "ignoring a sticker message" in caplog.text
    assert (got[no_topic].chat_name, got[no_topic].sender_name) == ("", "")
    assert got[left].mentions == ("c-moved-away",)
    assert got[left].text == "@张三 你家的车挡路了"  # an unresolvable mention stays in the text
    assert got[emoji].text == "谢谢楼长[强][玫瑰]/:heart"
    assert len(got[paste].text) == 10_000
    assert len(got[too_long].text) == 10_000
    assert "kept the first 10000" in caplog.text
    assert adapter.health()["ignored"] == 1
