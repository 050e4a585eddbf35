"""Nobody sees another community's data: committee chats and every transfer path stay inside a community."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.job_runner import JobRunner
from bot.message import DirectMessage, Say
from config.schedule import DigestSettings
from handlers import lifecycle
from handlers.council import send_council_agenda
from handlers.digest import send_weekly_digest
from storage.models import OutboxItem
from tests.hardening.conftest import Desk, texts

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _reports_in_both(two: Desk) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")
    await two.say("sim-nh-1", "r-9", "楼下垃圾好几天没人收，臭死了")


async def _sent_to(two: Desk, chat_id: str) -> list[str]:
    async with two.service.store.sessions() as session:
        rows = await session.scalars(select(OutboxItem.text).where(OutboxItem.chat_id == chat_id))
        return [text for text in rows.all() if text]  # chart images carry no text


async def test_each_community_digest_goes_only_to_its_own_committee_chat(two: Desk) -> None:
    settings = two.service.settings
    settings.schedule.digest = DigestSettings.model_validate(
        {"committee_chats": {"beijiang": ["sim:bj-committee"], "nanhe": ["sim:nh-committee"]}}
    )
    await _reports_in_both(two)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    await JobRunner(two.service.store.sessions, settings).run(send_weekly_digest, monday)
    beijiang, nanhe = await _sent_to(two, "bj-committee"), await _sent_to(two, "nh-committee")
    assert beijiang
    assert all("北江社区" in t and "南河" not in t for t in beijiang)
    assert nanhe
    assert all("南河社区" in t and "北江" not in t for t in nanhe)


async def test_a_shared_list_of_committee_chats_is_not_sent_every_community(two: Desk) -> None:
    """The old global list cannot say whose chat it is: with two communities it is not used at all."""
    settings = two.service.settings
    settings.schedule.digest = DigestSettings.model_validate({"committee_chats": ["sim:bj-committee"]})
    await _reports_in_both(two)
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    await JobRunner(two.service.store.sessions, settings).run(send_weekly_digest, monday)
    assert not any("南河" in t for t in await _sent_to(two, "bj-committee"))


async def test_the_council_agenda_goes_only_to_its_own_committee_chat(two: Desk) -> None:
    settings = two.service.settings
    settings.schedule.digest = DigestSettings.model_validate(
        {"committee_chats": {"beijiang": ["sim:bj-committee"], "nanhe": ["sim:nh-committee"]}}
    )
    await two.say("sim-nh-1", "r-9", "我们楼想加装电梯，大家意见怎么收集")
    await JobRunner(two.service.store.sessions, settings).run(
        send_council_agenda, datetime(2026, 11, 24, 19, 30, tzinfo=SHANGHAI)
    )
    assert all("南河" not in t for t in await _sent_to(two, "bj-committee"))
    assert any("南河社区" in t for t in await _sent_to(two, "nh-committee"))


@pytest.mark.parametrize("how", ["mention", "name"])
async def test_transfer_never_hands_a_ticket_to_another_community(two: Desk, how: str) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")
    if how == "mention":
        msg = two.chat("sim-sdc-3").msg("lixingshan", "转派 #1 @南楼长")
        msg = dataclasses.replace(msg, mentions=("nan",))
        replies = await two.feed(msg)
    else:
        replies = await two.say("sim-sdc-3", "lixingshan", "转派 #1 南楼长")
    ticket = await two.ticket(1)
    assert ticket.assignee_id == "p-li"
    assert "没有找到" in texts(replies)
    assert not any(isinstance(r, DirectMessage) and r.to == "nan" for r in replies)


async def test_the_lifecycle_refuses_a_transfer_across_communities(two: Desk) -> None:
    """Every path (转派, ``linli tickets assign``, the web desk) goes through lifecycle.transfer."""
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")

    async def job(ctx: object) -> object:
        from bot.context import JobContext
        from bot.jobs import JobOutcome

        assert isinstance(ctx, JobContext)
        ticket = await ctx.tickets.get(1)
        target = await ctx.org.person("p-nan")
        assert ticket is not None
        assert target is not None
        with pytest.raises(lifecycle.OutsideCommunity):
            await lifecycle.transfer(ctx, ticket, target, by="staff", actor="staff", at=ctx.now)
        return JobOutcome()

    await JobRunner(two.service.store.sessions, two.service.settings).run(job, two.clock)  # type: ignore[arg-type]
    assert (await two.ticket(1)).assignee_id == "p-li"


async def test_commands_about_another_communitys_ticket_are_not_found(two: Desk) -> None:
    await two.say("sim-nh-1", "r-9", "楼下垃圾好几天没人收，臭死了")
    replies = await two.say("sim-sdc-3", "lixingshan", "接单 #1")
    assert "没有找到 #1" in texts(replies)
    assert next(r for r in replies if isinstance(r, Say)).chat_id == "sim-sdc-3"
