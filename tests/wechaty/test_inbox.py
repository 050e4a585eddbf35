"""Nothing the puppet handed over is lost: the inbox is bounded, drained on stop, and a message the core
could not store is offered again instead of dropped."""

from __future__ import annotations

import asyncio

import pytest

from bot.message import IncomingMessage, NotStored
from tests.wechaty.conftest import Inbox, fast_settings

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

from bot.adapters.wechaty import WechatyAdapter
from tests.wechaty.test_fake_puppet import ROOM, RecordingPuppet


class GatedInbox(Inbox):
    """A feed that waits at a gate, like a core busy with a slow database."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def feed(self, message: IncomingMessage) -> None:
        await self.gate.wait()
        await super().feed(message)


async def test_stop_feeds_every_message_already_taken_from_the_puppet() -> None:
    puppet, inbox = RecordingPuppet(), Inbox()

    async def slow_feed(message: IncomingMessage) -> None:
        for _ in range(20):  # a core that takes a while: it gives the loop away many times per message
            await asyncio.sleep(0)
        await inbox.feed(message)

    adapter = WechatyAdapter(fast_settings(""), puppet_factory=lambda: puppet)
    await adapter.start(slow_feed)
    ids = [puppet.post(from_id="c-zhao", room_id=ROOM, text=f"第{i}条") for i in range(5)]
    await adapter.stop()
    assert [m.message_id for m in inbox.messages] == ids


async def test_the_inbox_is_bounded_and_says_what_it_refused() -> None:
    puppet, inbox = RecordingPuppet(), GatedInbox()
    settings = fast_settings("", inbox_size=3)
    adapter = WechatyAdapter(settings, puppet_factory=lambda: puppet)
    await adapter.start(inbox.feed)
    try:
        for i in range(10):
            puppet.post(from_id="c-zhao", room_id=ROOM, text=f"刷屏{i}")
        health = adapter.health()
        assert int(health["inbox"]) <= 3  # type: ignore[call-overload]
        assert int(health["inbox_refused"]) >= 6  # type: ignore[call-overload]
    finally:
        inbox.gate.set()
        await adapter.stop()


async def test_a_message_the_core_could_not_store_is_offered_again() -> None:
    puppet = RecordingPuppet()
    inbox = Inbox()
    failures = 2

    async def feed(message: IncomingMessage) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise NotStored("the database is unreachable")
        await inbox.feed(message)

    settings = fast_settings("", store_retry_seconds=0.01)
    adapter = WechatyAdapter(settings, puppet_factory=lambda: puppet)
    await adapter.start(feed)
    try:
        mid = puppet.post(from_id="c-zhao", room_id=ROOM, text="电梯坏了")
        got = await inbox.wait_for(lambda m: m.message_id == mid)
        assert got.text == "电梯坏了"
    finally:
        await adapter.stop()
