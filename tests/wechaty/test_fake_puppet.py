"""Fast in-process tests of the adapter's translation over wechaty's own fake puppet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import AdapterStartError, SendError
from bot.message import DIRECT_CHAT, DirectMessage, IncomingMessage, Say
from tests.wechaty.conftest import Inbox, fast_settings

pytest.importorskip("wechaty_puppet_service", reason="the wechaty extra is not installed")

from bot.adapters.wechaty import WechatyAdapter
from bot.adapters.wechaty.compat import apply_python311_shim

apply_python311_shim()

from wechaty.fake_puppet import FakePuppet  # noqa: E402
from wechaty_puppet import (  # noqa: E402
    ContactPayload,
    EventLogoutPayload,
    EventMessagePayload,
    MessagePayload,
    MessageType,
    PuppetOptions,
    RoomMemberPayload,
    RoomPayload,
)

SELF = "fake-contact-id"  # what FakePuppet.start() logs in as
ROOM = "r-7dong@chatroom"


class RecordingPuppet(FakePuppet):  # type: ignore[misc]
    """wechaty's FakePuppet, remembering what it was asked to send."""

    def __init__(self) -> None:
        super().__init__(PuppetOptions())
        self.sent: list[tuple[str, str, list[str] | None]] = []
        self.add_fake_contact(ContactPayload(id=SELF, name="邻里小助手"))
        self.add_fake_contact(ContactPayload(id="c-zhao", name="赵大爷"))
        self.add_fake_contact(ContactPayload(id="c-qian", name="钱姐"))
        self.add_fake_room(RoomPayload(id=ROOM, topic="7栋", member_ids=[SELF, "c-zhao", "c-qian"]))
        self.add_fake_room_members(ROOM, [RoomMemberPayload(id="c-qian", room_alias="7栋1502钱")])
        self._n = 0

    async def message_send_text(self, conversation_id: str, message: str, mention_ids: Any = None) -> str:
        self.sent.append((conversation_id, message, mention_ids))
        return f"sent-{len(self.sent)}"

    def post(self, **fields: Any) -> str:
        self._n += 1
        message_id = f"fm-{self._n}"
        fields.setdefault("type", MessageType.MESSAGE_TYPE_TEXT)
        self.add_fake_message(MessagePayload(id=message_id, **fields))
        self.emitter.emit("message", EventMessagePayload(message_id=message_id))
        return message_id


@pytest.fixture
def puppet() -> RecordingPuppet:
    return RecordingPuppet()


@pytest.fixture
async def adapter(puppet: RecordingPuppet, inbox: Inbox) -> AsyncIterator[WechatyAdapter]:
    running = WechatyAdapter(fast_settings(""), puppet_factory=lambda: puppet)
    await running.start(inbox.feed)
    try:
        yield running
    finally:
        await running.stop()


def test_the_python311_shim_lets_wechaty_import() -> None:
    import wechaty

    assert wechaty.Wechaty is not None


async def test_room_message_with_an_at_name_but_no_mention_ids(
    adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox
) -> None:
    # some puppets only put "@name" in the text; the bot still knows it was addressed
    mid = puppet.post(from_id="c-zhao", room_id=ROOM, text="@邻里小助手\u2005楼道堆满杂物", timestamp=1_700_000_000)
    got = await inbox.wait_for(lambda m: m.message_id == mid)
    assert got.mentions == ()
    assert got.text == "楼道堆满杂物"
    assert (got.chat_id, got.chat_name, got.sender_name) == (ROOM, "7栋", "赵大爷")
    assert got.time.isoformat() == "2023-11-14T22:13:20+00:00"


async def test_the_room_nickname_is_preferred_and_stripped(
    adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox
) -> None:
    mid = puppet.post(from_id="c-zhao", room_id=ROOM, text="@7栋1502钱 你家漏水", mention_ids=["c-qian"])
    got = await inbox.wait_for(lambda m: m.message_id == mid)
    assert got.text == "你家漏水"
    assert got.mentions == ("c-qian",)
    await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="已记录", mentions=("c-qian", "c-zhao")))
    assert puppet.sent == [(ROOM, "@7栋1502钱\u2005@赵大爷\u2005已记录", ["c-qian", "c-zhao"])]


async def test_direct_message(adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox) -> None:
    mid = puppet.post(from_id="c-qian", to_id=SELF, text="  办结  ")
    got = await inbox.wait_for(lambda m: m.message_id == mid)
    assert (got.chat_id, got.sender_id, got.sender_name, got.text) == (DIRECT_CHAT, "c-qian", "钱姐", "办结")
    await adapter.send(DirectMessage(platform="wechaty", to="c-qian", text="好的"))
    assert puppet.sent[-1] == ("c-qian", "好的", None)


async def test_own_and_non_text_messages_are_logged_and_not_fed(
    adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.wechaty")
    puppet.post(from_id=SELF, room_id=ROOM, text="我是机器人")
    puppet.post(from_id="c-zhao", room_id=ROOM, type=MessageType.MESSAGE_TYPE_VIDEO, text="<video/>")
    puppet.post(from_id="c-zhao", room_id=ROOM, type=MessageType.MESSAGE_TYPE_RECALLED)
    last = puppet.post(from_id="c-zhao", room_id=ROOM, text="好")
    await inbox.wait_for(lambda m: m.message_id == last)
    assert [m.message_id for m in inbox.messages] == [last]
    assert "ignoring our own message" in caplog.text
    assert "ignoring a video message" in caplog.text
    assert "ignoring a recalled message" in caplog.text
    assert adapter.health()["ignored"] == 3


async def test_images_and_voice_are_forwarded_by_default_with_empty_text(
    adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox
) -> None:
    voice = puppet.post(from_id="c-zhao", room_id=ROOM, type=MessageType.MESSAGE_TYPE_AUDIO, text="<msg/>")
    image = puppet.post(from_id="c-zhao", room_id=ROOM, type=MessageType.MESSAGE_TYPE_IMAGE, text="<img/>")
    await inbox.wait_count(2)
    assert [(m.message_id, m.content_type, m.text) for m in inbox.messages] == [
        (voice, "voice", ""),
        (image, "image", ""),
    ]


async def test_forward_content_types_can_narrow_to_text(
    puppet: RecordingPuppet, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.adapters.wechaty")
    adapter = WechatyAdapter(fast_settings("", forward_content_types=["text"]), puppet_factory=lambda: puppet)
    await adapter.start(inbox.feed)
    try:
        puppet.post(from_id="c-zhao", room_id=ROOM, type=MessageType.MESSAGE_TYPE_AUDIO, text="<msg/>")
        last = puppet.post(from_id="c-zhao", room_id=ROOM, text="好")
        await inbox.wait_for(lambda m: m.message_id == last)
    finally:
        await adapter.stop()
    assert [m.message_id for m in inbox.messages] == [last]
    assert "ignoring a voice message" in caplog.text


async def test_a_failing_core_does_not_stop_the_adapter(puppet: RecordingPuppet, inbox: Inbox) -> None:
    async def flaky(message: IncomingMessage) -> None:
        if message.text == "boom":
            raise RuntimeError("core bug")
        await inbox.feed(message)

    adapter = WechatyAdapter(fast_settings(""), puppet_factory=lambda: puppet)
    await adapter.start(flaky)
    try:
        puppet.post(from_id="c-zhao", room_id=ROOM, text="boom")
        after = puppet.post(from_id="c-zhao", room_id=ROOM, text="之后")
        await inbox.wait_for(lambda m: m.message_id == after)
    finally:
        await adapter.stop()


async def test_an_unknown_message_id_is_logged_and_skipped(
    adapter: WechatyAdapter, puppet: RecordingPuppet, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    puppet.emitter.emit("message", EventMessagePayload(message_id="never-stored"))
    after = puppet.post(from_id="c-zhao", room_id=ROOM, text="正常")
    await inbox.wait_for(lambda m: m.message_id == after)
    assert "cannot read message never-stored" in caplog.text


async def test_logout_shows_in_health_and_sends_wait_then_fail(puppet: RecordingPuppet, inbox: Inbox) -> None:
    adapter = WechatyAdapter(fast_settings("", send_wait_seconds=0.2), puppet_factory=lambda: puppet)
    await adapter.start(inbox.feed)
    try:
        puppet.emitter.emit("logout", EventLogoutPayload(contact_id=SELF, data="kicked"))
        health = adapter.health()
        assert health["connected"] is False
        assert "logged out" in str(health["last_error"])
        with pytest.raises(SendError, match="not connected"):
            await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="在吗"))
    finally:
        await adapter.stop()


async def test_no_login_within_the_connect_timeout_is_a_start_error(inbox: Inbox) -> None:
    class NeverLogsIn(RecordingPuppet):
        async def start(self) -> None:
            await asyncio.Event().wait()

    adapter = WechatyAdapter(fast_settings("", connect_timeout_seconds=0.3), puppet_factory=NeverLogsIn)
    with pytest.raises(AdapterStartError, match="no login"):
        await adapter.start(inbox.feed)


async def test_send_checks_its_input(adapter: WechatyAdapter) -> None:
    with pytest.raises(SendError, match="empty"):
        await adapter.send(Say(platform="wechaty", chat_id=ROOM, text="  "))
    with pytest.raises(SendError, match="contact id"):
        await adapter.send(Say(platform="wechaty", chat_id=DIRECT_CHAT, text="hi"))
    with pytest.raises(SendError, match="wecom"):
        await adapter.send(Say(platform="wecom", chat_id=ROOM, text="hi"))


async def test_start_twice_is_a_programming_error(adapter: WechatyAdapter, inbox: Inbox) -> None:
    with pytest.raises(RuntimeError, match="twice"):
        await adapter.start(inbox.feed)


def test_importing_the_adapter_does_not_import_wechaty() -> None:
    import subprocess
    import sys

    code = "import sys, bot.adapters.wechaty\nprint(any(m.split('.')[0].startswith('wechaty') for m in sys.modules))"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip() == "False"
