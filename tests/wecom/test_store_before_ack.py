"""A callback is answered 200 only once its message is stored; otherwise 5xx, so that WeCom retries.
Callbacks outside a ±300 s window of their timestamp are refused: a captured one cannot be replayed later."""

from __future__ import annotations

import time

from bot.adapters.wecom.adapter import AIBOT_PATH, APP_PATH
from bot.message import IncomingMessage, NotStored
from tests.wecom import driver as d
from tests.wecom.conftest import Harness


async def test_a_callback_whose_message_cannot_be_stored_is_not_acknowledged(harness: Harness) -> None:
    stored: list[IncomingMessage] = []
    failures = 1

    async def feed(msg: IncomingMessage) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise NotStored("database unreachable")
        stored.append(msg)

    harness.adapter._feed = feed
    payload = d.aibot_text("@邻里小助手 3栋电梯坏咗", msgid="m-outage")
    query, body = harness.aibot.aibot(payload)
    assert await harness.post(AIBOT_PATH, query, body) >= 500
    assert stored == []
    assert await harness.post(AIBOT_PATH, query, body) == 200  # WeCom's retry
    assert [m.message_id for m in stored] == ["aibot:m-outage"]
    assert await harness.post(AIBOT_PATH, query, body) == 200  # a third copy is a duplicate
    assert len(stored) == 1


async def test_the_answer_waits_for_the_store(harness: Harness) -> None:
    order: list[str] = []

    async def feed(msg: IncomingMessage) -> None:
        order.append("stored")

    harness.adapter._feed = feed
    status = await harness.post(APP_PATH, *harness.app.app(d.app_text("你好", msg_id="77")))
    order.append(f"answered {status}")
    assert order == ["stored", "answered 200"]


async def test_a_callback_outside_the_time_window_is_refused(harness: Harness) -> None:
    stale = str(int(time.time()) - 301)
    payload = d.aibot_text("@邻里小助手 3栋电梯坏咗", msgid="m-stale")
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(payload, timestamp=stale)) == 403
    future = str(int(time.time()) + 301)
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(payload, timestamp=future)) == 403
    fresh = str(int(time.time()) - 200)
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(payload, timestamp=fresh)) == 200
    await harness.settle()
    assert [m.message_id for m in harness.feed.messages] == ["aibot:m-stale"]
