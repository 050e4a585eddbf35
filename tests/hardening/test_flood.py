"""One resident cannot silence the bot: what linli answers one sender and one chat is limited, repeated
identical answers collapse into one notice, urgent matters always get through and are sent first, and a
WeChat send that would wait past its limit goes back to the outbox instead of holding every room up."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.base import SendError
from bot.adapters.wechaty.limiter import ConversationLimiters
from bot.message import Say
from bot.texts import chat as chat_texts
from tests.hardening.conftest import Desk, texts
from tests.wechaty.test_limiter import FakeClock

REPEAT = chat_texts.repeated()


async def test_two_hundred_help_requests_get_one_answer_and_one_notice(two: Desk) -> None:
    answers = await two.burst("sim-sdc-3", "r-flood", ["帮助"] * 200)
    assert len(answers) == 2
    assert "进度" in answers[0].text  # type: ignore[union-attr]
    assert REPEAT in answers[1].text  # type: ignore[union-attr]
    others = await two.say("sim-sdc-3", "r-calm", "帮助")  # a neighbour in the same group still gets help
    assert "进度" in texts(others)


async def test_distinct_commands_are_limited_per_sender(two: Desk) -> None:
    answers = await two.burst("sim-sdc-3", "r-flood", [f"进度 #{n}" for n in range(1, 60)])
    limit = two.service.settings.flood.per_sender_per_minute
    assert limit < len(answers) <= limit + 1  # the budget, then one notice
    assert texts(answers).count(REPEAT) == 1


async def test_an_urgent_report_always_gets_through(two: Desk) -> None:
    for _ in range(30):
        await two.say("sim-sdc-3", "r-flood", "帮助")
    replies = await two.say("sim-sdc-3", "r-flood", "6楼有好浓的煤气味，大家快出来")
    assert "已记录 #1" in texts(replies)
    assert "119" in texts(replies)


async def test_urgent_messages_leave_the_outbox_first(two: Desk) -> None:
    service = two.service
    for n in range(8):  # answers waiting in the outbox (nobody drains until the end)
        await service.receive(two.chat("sim-sdc-3").msg(f"r-{n}", "帮助"))
    await service.receive(two.chat("sim-sdc-3").msg("r-gas", "6楼有好浓的煤气味，大家快出来"))
    await service.outbox.drain()
    first = two.adapter.sent[0]
    assert isinstance(first, Say)
    assert "已记录 #1" in first.text


async def test_a_wechat_send_past_its_wait_goes_back_to_the_outbox() -> None:
    clock = FakeClock()
    limiters = ConversationLimiters((100.0, 1000), (100.0, 3), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiters.acquire("room-1", max_wait=5.0)
    with pytest.raises(SendError) as refused:
        await limiters.acquire("room-1", max_wait=5.0)
    assert refused.value.retry_after is not None
    assert refused.value.retry_after > 5.0
    assert sum(clock.sleeps) <= 5.0  # it did not wait out the minute
    await asyncio.wait_for(limiters.acquire("room-2", max_wait=5.0), 1)  # another room is not held up
