"""The 智能机器人 long connection against a local fake gateway: subscribe, translate, reply, keep alive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.base import AdapterStartError
from bot.adapters.wecom.adapter import AIBOT_PATH, WeComAdapter
from bot.adapters.wecom.client import WeComSendError
from bot.message import DirectMessage, Say
from tests.wecom import driver as d
from tests.wecom.conftest import NOW, Harness, Recorder, StartHarness, settings_for
from tests.wecom.fake_api import FakeClock, FakeWeCom
from tests.wecom.fake_ws import AUTH_FAILED, FakeGateway, ManualTime

GROUP = "wrchat3dong"


@pytest.fixture
def ticks() -> ManualTime:
    return ManualTime()


@dataclass
class Socket:
    adapter: WeComAdapter
    feed: Recorder
    gateway: FakeGateway
    fake: FakeWeCom
    ticks: ManualTime

    async def say(self, payload: dict[str, Any]) -> str:
        """The gateway delivers a message; returns its req_id once the adapter has fed it."""
        before = self._seen()
        req_id = await self.gateway.push_message(payload)
        await self.eventually(lambda: self._seen() > before)
        await self.adapter.drain()
        return req_id

    async def eventually(self, done: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until the adapter's own tasks (reader, heartbeat, reconnect) have made ``done()`` true.
        Only yields to the event loop: the fake time never moves here."""
        async with asyncio.timeout(within):
            while not done():  # noqa: ASYNC110 - polls the adapter's own state; sleep(0) only yields
                await asyncio.sleep(0)

    def _seen(self) -> int:
        health = self.adapter.health()
        return int(str(health["received"])) + int(str(health["refused"]))

    def health(self) -> dict[str, Any]:
        longconn = self.adapter.health()["longconn"]
        assert isinstance(longconn, dict)
        return longconn


StartSocket = Callable[..., Coroutine[Any, Any, Socket]]


def socket_settings(fake: FakeWeCom, gateway: FakeGateway, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aibot_token": SecretStr(""),
        "aibot_aes_key": SecretStr(""),
        "aibot_id": gateway.bot_id,
        "aibot_secret": SecretStr(gateway.secret),
        "aibot_ws_url": gateway.url,
        "aibot_name": "邻里小助手",
    }
    values.update(overrides)
    return values


@pytest.fixture
async def start_socket(
    fake: FakeWeCom, gateway: FakeGateway, clock: FakeClock, ticks: ManualTime
) -> AsyncIterator[StartSocket]:
    async with AsyncExitStack() as stack:

        async def start(**overrides: Any) -> Socket:
            settings = settings_for(fake, **socket_settings(fake, gateway, **overrides))
            adapter = WeComAdapter(settings, clock=clock, sleep=clock.sleep, now=lambda: NOW, ws_sleep=ticks.sleep)
            feed = Recorder()
            await adapter.start(feed)
            stack.push_async_callback(adapter.stop)
            return Socket(adapter, feed, gateway, fake, ticks)

        yield start


@pytest.fixture
async def sock(start_socket: StartSocket) -> Socket:
    return await start_socket()


# -- subscribing --------------------------------------------------------------------------------


async def test_start_returns_once_the_subscription_is_confirmed(sock: Socket) -> None:
    [subscribe] = [f for f in sock.gateway.frames if f["cmd"] == "aibot_subscribe"]
    assert subscribe["body"] == {"bot_id": "aibLINLI01", "secret": "bot-secret"}
    assert subscribe["headers"]["req_id"]
    assert sock.gateway.live is not None
    assert sock.adapter.health()["connected"] is True
    assert sock.health()["reconnects"] == 0


async def test_a_wrong_secret_fails_start_with_the_code(start_socket: StartSocket) -> None:
    with pytest.raises(AdapterStartError) as exc:
        await start_socket(aibot_secret=SecretStr("wrong"))
    assert str(AUTH_FAILED) in str(exc.value)
    assert "wrong" not in str(exc.value)


async def test_no_confirmation_fails_start_within_the_bound(
    start_socket: StartSocket, gateway: FakeGateway, ticks: ManualTime
) -> None:
    gateway.answer_subscribe = False
    starting = asyncio.create_task(start_socket(aibot_connect_timeout_seconds=10))
    await ticks.until_sleeping(10)
    await gateway.until(lambda: gateway.count("aibot_subscribe") == 1)
    assert not starting.done()
    ticks.advance(10)
    with pytest.raises(AdapterStartError, match="within 10s"):
        await starting


async def test_an_unreachable_gateway_fails_start(start_socket: StartSocket) -> None:
    with pytest.raises(AdapterStartError, match="cannot reach"):
        await start_socket(aibot_ws_url="ws://127.0.0.1:9/")


# -- the same translation as callbacks ----------------------------------------------------------

PAYLOADS = [
    d.aibot_text("@邻里小助手\u20053栋电梯坏咗，有人困住", msgid="m1", aibotid="aibLINLI01"),
    d.aibot_text("接单 #12", msgid="m2", chattype="single", userid="leader1", aibotid="aibLINLI01"),
    {
        "msgid": "m3",
        "aibotid": "aibLINLI01",
        "chatid": GROUP,
        "chattype": "group",
        "from": {"userid": "resident2"},
        "msgtype": "mixed",
        "mixed": {
            "msg_item": [
                {"msgtype": "text", "text": {"content": "@邻里小助手 楼道漏水"}},
                {"msgtype": "image", "image": {"url": "https://example.invalid/x"}},
            ]
        },
    },
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["group-text", "single-text", "group-mixed"])
async def test_socket_messages_translate_like_callbacks(
    payload: dict[str, Any], start_socket: StartSocket, start_harness: StartHarness
) -> None:
    sock = await start_socket()
    await sock.say(payload)
    callback: Harness = await start_harness(aibot_name="邻里小助手")
    assert await callback.post(AIBOT_PATH, *callback.aibot.aibot(payload)) == 200
    await callback.settle()
    assert sock.feed.messages == callback.feed.messages
    assert len(sock.feed.messages) == 1


async def test_events_and_foreign_bots_are_not_fed(sock: Socket) -> None:
    await sock.gateway.push_event("enter_chat")
    await sock.say(d.aibot_text("@bot hi", msgid="other", aibotid="SOMEONE_ELSE"))
    assert sock.feed.messages == []
    assert sock.adapter.health()["ignored"] == 1


async def test_a_redelivered_msgid_is_fed_once(sock: Socket) -> None:
    await sock.say(d.aibot_text("@bot 冇水", msgid="dup", aibotid="aibLINLI01"))
    await sock.say(d.aibot_text("@bot 冇水", msgid="dup", aibotid="aibLINLI01"))
    assert len(sock.feed.messages) == 1
    assert sock.adapter.health()["duplicates"] == 1


# -- answering ----------------------------------------------------------------------------------


async def test_a_group_mention_is_answered_over_the_socket_once(sock: Socket) -> None:
    req_id = await sock.say(d.aibot_text("@邻里小助手 3栋冇水", msgid="w1", aibotid="aibLINLI01"))
    await sock.adapter.send(Say("wecom", GROUP, "@resident1 已记录 #1", mentions=("resident1",)))
    [(answered, body)] = sock.gateway.replies
    assert answered == req_id
    assert body["msgtype"] == "stream"
    assert body["stream"]["finish"] is True
    assert body["stream"]["content"] == "<@resident1> 已记录 #1"
    # The answer is used up: the next message to the group goes by its webhook.
    await sock.adapter.send(Say("wecom", GROUP, "温馨提示"))
    assert len(sock.gateway.replies) == 1
    assert sock.fake.webhook_posts["hook-3dong"] == [{"msgtype": "markdown", "markdown": {"content": "温馨提示"}}]
    assert sock.gateway.refusals == []


async def test_without_a_webhook_the_bot_pushes_into_the_group_itself(start_socket: StartSocket) -> None:
    sock = await start_socket(webhooks={})
    await sock.say(d.aibot_text("@邻里小助手 3栋冇水", msgid="w2", aibotid="aibLINLI01"))
    await sock.adapter.send(Say("wecom", GROUP, "已记录"))  # the answer to the mention
    assert len(sock.gateway.replies) == 1
    await sock.adapter.send(Say("wecom", GROUP, "周报\n\n" + "楼" * 3000, mentions=("leader1",)))
    pushes = sock.gateway.pushes
    assert len(pushes) == 4  # 9000 bytes of one paragraph, cut to fit 4096-byte markdown
    assert {(p["chatid"], p["chat_type"]) for p in pushes} == {(GROUP, 2)}
    assert pushes[0]["markdown"]["content"] == "<@leader1>\n周报"
    assert all(len(p["markdown"]["content"].encode()) <= 4096 for p in pushes)
    assert "".join(p["markdown"]["content"] for p in pushes[1:]) == "楼" * 3000
    assert sock.adapter.health()["socket_pushes"] == 4


async def test_a_push_where_nobody_has_written_is_retried_later(start_socket: StartSocket) -> None:
    sock = await start_socket(webhooks={})
    with pytest.raises(WeComSendError) as exc:
        await sock.adapter.send(Say("wecom", "wrsilent", "hello"))
    assert not exc.value.permanent
    assert exc.value.retry_after


async def test_a_leader_is_answered_over_the_socket_then_by_app_message(sock: Socket) -> None:
    await sock.say(d.aibot_text("接单 #5", msgid="s1", chattype="single", userid="leader1", aibotid="aibLINLI01"))
    await sock.adapter.send(DirectMessage("wecom", "leader1", "已接单 #5"))
    assert sock.gateway.replies[0][1]["stream"]["content"] == "已接单 #5"
    await sock.adapter.send(DirectMessage("wecom", "leader1", "提醒：#5 明天到期"))
    assert sock.fake.texts_to("leader1") == ["提醒：#5 明天到期"]


async def test_without_the_app_members_get_pushes(start_socket: StartSocket) -> None:
    sock = await start_socket(secret=SecretStr(""), token=SecretStr(""), aes_key=SecretStr(""))
    await sock.say(d.aibot_text("你好", msgid="s2", chattype="single", userid="leader1", aibotid="aibLINLI01"))
    await sock.adapter.send(DirectMessage("wecom", "leader1", "已收到"))
    await sock.adapter.send(DirectMessage("wecom", "leader1", "提醒：#5 明天到期"))
    [push] = sock.gateway.pushes
    assert (push["chatid"], push["chat_type"], push["markdown"]["content"]) == ("leader1", 1, "提醒：#5 明天到期")


async def test_a_stale_socket_answer_falls_back(sock: Socket, clock: FakeClock) -> None:
    await sock.say(d.aibot_text("@邻里小助手 3栋冇水", msgid="w3", aibotid="aibLINLI01"))
    clock.advance(301)
    await sock.adapter.send(Say("wecom", GROUP, "迟到的回复"))
    assert sock.gateway.replies == []
    assert len(sock.fake.webhook_posts["hook-3dong"]) == 1


# -- keeping the connection ---------------------------------------------------------------------


async def test_heartbeats_are_acknowledged(sock: Socket) -> None:
    for beat in (1, 2, 3):
        await sock.ticks.until_sleeping(30)
        sock.ticks.advance(30)
        await sock.gateway.until(lambda beat=beat: sock.gateway.count("ping") == beat)  # type: ignore[misc]
    await sock.eventually(lambda: sock.health()["missed_pings"] == 0 and sock.health()["frames_in"] >= 3)
    assert sock.health()["connected"] is True
    assert sock.health()["reconnects"] == 0


async def test_unanswered_heartbeats_mean_a_dead_connection_and_a_reconnect(sock: Socket) -> None:
    sock.gateway.answer_pings = False
    first = sock.gateway.live
    for _ in range(3):
        await sock.ticks.until_sleeping(30)
        sock.ticks.advance(30)
    await sock.gateway.until(lambda: sock.gateway.live is not None and sock.gateway.live is not first)
    await sock.eventually(lambda: sock.health()["connected"] is True)
    assert sock.gateway.count("ping") == 2
    assert sock.health()["reconnects"] == 1
    assert first is not None
    assert first.ws.closed


async def test_a_dropped_connection_is_reconnected_at_once(sock: Socket) -> None:
    await sock.gateway.drop()
    await sock.gateway.until(lambda: sock.gateway.count("aibot_subscribe") == 2)
    await sock.eventually(lambda: sock.health()["connected"] is True)
    assert sock.health()["reconnects"] == 1
    assert sock.ticks.now == 0  # no time had to pass
    # and messages flow again
    await sock.say(d.aibot_text("@邻里小助手 又冇水", msgid="after", aibotid="aibLINLI01"))
    assert sock.feed.messages[-1].text == "又冇水"


async def test_reconnects_back_off_up_to_the_cap_and_show_in_health(start_socket: StartSocket) -> None:
    sock = await start_socket(aibot_reconnect_max_seconds=4)
    gateway, ticks = sock.gateway, sock.ticks
    gateway.secret = "rotated"  # the admin rotated the secret: every attempt is refused
    await gateway.drop()
    await gateway.until(lambda: gateway.count("aibot_subscribe") == 2)
    await sock.eventually(lambda: "853000" in str(sock.health()["last_error"]))
    assert sock.adapter.health()["connected"] is False
    for delay in (1, 2, 4, 4):
        await ticks.until_sleeping(delay)
        ticks.advance(delay)
        expected = gateway.count("aibot_subscribe") + 1
        await gateway.until(lambda expected=expected: gateway.count("aibot_subscribe") == expected)  # type: ignore[misc]
    assert ticks.now == 11
    gateway.secret = "bot-secret"
    await ticks.until_sleeping(4)
    ticks.advance(4)
    await sock.eventually(lambda: sock.health()["connected"] is True)
    assert sock.health()["reconnects"] == 6
    assert sock.health()["last_error"] == ""


async def test_a_replaced_connection_does_not_fight_back(sock: Socket, start_socket: StartSocket) -> None:
    second = await start_socket()  # another linli with the same bot: WeCom keeps the newer one
    await sock.eventually(lambda: sock.health()["replaced"] is True and sock.health()["connected"] is False)
    assert sock.adapter.health()["connected"] is False
    assert "disconnected_event" in str(sock.health()["last_error"])
    assert second.health()["connected"] is True
    assert sock.gateway.count("aibot_subscribe") == 2
    with pytest.raises(WeComSendError):
        await sock.adapter.send(Say("wecom", "wrsilent", "hello"))


async def test_stop_does_not_reconnect(start_socket: StartSocket, gateway: FakeGateway) -> None:
    sock = await start_socket()
    await sock.adapter.stop()
    await gateway.until(lambda: gateway.live is None)
    assert gateway.count("aibot_subscribe") == 1
    assert sock.adapter.health()["longconn"] is None
