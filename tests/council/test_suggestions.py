"""楼长信箱 as transcripts: a suggestion is stored (not a ticket), acknowledged with the date an answer is
due, delivered to the building's leader, answered back to its sender; anonymous on request."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from config.settings import Settings
from storage.council_models import Suggestion
from storage.models import Ticket
from tests.council.conftest import Talk, text, to_chat, to_person


async def suggestions(talk: Talk) -> list[Suggestion]:
    async with talk.service.store.sessions() as session:
        return list(await session.scalars(select(Suggestion).order_by(Suggestion.id)))


async def ticket_count(talk: Talk) -> int:
    async with talk.service.store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def test_a_direct_message_starting_with_a_suggestion_reaches_the_leader_and_is_answered(talk: Talk) -> None:
    replies = await talk.dm("wangayi", "建议小区门口加个快递柜，老人家取快递方便啲", name="王阿姨")
    assert to_person(replies, "wangayi") == ["已收到您的建议（#S1），已转给李杏珊，会在12月4日前回复您，谢谢！"]
    assert to_person(replies, "lixingshan") == [
        "【楼长信箱】#S1（时代城3栋，王阿姨）：小区门口加个快递柜，老人家取快递方便啲\n"
        "请在12月4日前回复：“回复建议 #S1 内容”。"
    ]
    assert await ticket_count(talk) == 0

    replies = await talk.dm("lixingshan", "回复建议 #S1 已向物业反映，下月在东门安装", name="李杏珊")
    assert to_person(replies, "lixingshan") == ["已把您的回复转给 #S1 的建议人，谢谢！"]
    assert to_person(replies, "wangayi") == [
        "您的建议（#S1「小区门口加个快递柜，老人家取快递方便啲」）李杏珊 回复：已向物业反映，下月在东门安装"
    ]
    [stored] = await suggestions(talk)
    assert (stored.unit_id, stored.answer, stored.answered_by) == ("sdc-3", "已向物业反映，下月在东门安装", "p-li")


@pytest.mark.parametrize(
    "written", ["信箱 希望物业晚上多巡逻", "信箱：希望物业晚上多巡逻", "楼长信箱 希望物业晚上多巡逻"]
)
async def test_the_mailbox_command_works_in_any_form(talk: Talk, written: str) -> None:
    await talk.say("sim-sdc-3", "r-lin", "大家好", name="林小姐")
    replies = await talk.dm("r-lin", written, name="林小姐")
    assert "已收到您的建议（#S1）" in text(replies)
    [stored] = await suggestions(talk)
    assert stored.text == "希望物业晚上多巡逻"
    assert stored.unit_id == "sdc-3"  # the group she wrote in


async def test_an_anonymous_suggestion_hides_its_sender_from_the_leader_but_gets_the_answer(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-lin", "大家好", name="林小姐")
    replies = await talk.dm("r-lin", "匿名建议 楼上装修太晚，希望定个规矩", name="林小姐")
    assert "已匿名转给李杏珊" in text(replies)
    [letter] = to_person(replies, "lixingshan")
    assert "一位居民（匿名）" in letter
    assert "林小姐" not in letter
    assert "r-lin" not in letter
    replies = await talk.dm("lixingshan", "回复建议 #S1 已在群里提醒装修时间", name="李杏珊")
    assert to_person(replies, "r-lin")


async def test_an_anonymous_suggestion_in_a_group_is_taken_but_the_sender_is_advised(talk: Talk) -> None:
    replies = await talk.say("sim-sdc-3", "r-lin", "匿名建议 希望多放几张长椅", name="林小姐")
    [said] = to_chat(replies, "sim-sdc-3")
    assert said.endswith("下次匿名建议请私信我发送，更好保护您的隐私。")
    assert len(await suggestions(talk)) == 1


async def test_only_the_buildings_leader_or_the_grid_above_may_answer(talk: Talk) -> None:
    await talk.dm("wangayi", "建议 门口加个快递柜", name="王阿姨")
    assert text(await talk.dm("he", "回复建议 #S1 好的")) == "抱歉，#S1 只能由所在楼栋的楼长或上级网格回复。"
    assert text(await talk.dm("r-x", "回复建议 #S1 好的")) == "没有找到建议 #S1，请核对编号。"
    assert "已把您的回复" in text(await talk.dm("tan", "回复建议 #S1 支部会跟进"))  # the estate's branch
    assert "请写上回复内容" in text(await talk.dm("lixingshan", "回复建议 #S1"))
    assert "没有找到建议 #S9" in text(await talk.dm("lixingshan", "回复建议 #S9 好的"))


async def test_an_empty_suggestion_is_refused_and_nothing_is_stored(talk: Talk) -> None:
    assert text(await talk.dm("wangayi", "信箱")) == "请把建议写在“信箱”后面，例如“信箱 希望小区多放几张长椅”。"
    assert await suggestions(talk) == []


async def test_a_suggestion_from_someone_unknown_goes_to_the_committee(talk: Talk) -> None:
    replies = await talk.dm("r-new", "建议 社区多办点亲子活动", name="新街坊")
    assert "已转给陈志华、黄敏" in text(replies)
    assert "楼栋不详" in to_person(replies, "chen")[0]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, council={"suggestions": {"committee_sees_anonymous": False}})


async def test_the_committee_lists_suggestions_without_anonymous_senders(talk: Talk, settings: Settings) -> None:
    await talk.dm("wangayi", "建议 门口加个快递柜", name="王阿姨")
    await talk.say("sim-sdc-3", "r-lin", "大家好", name="林小姐")
    await talk.dm("r-lin", "匿名建议 希望多巡逻", name="林小姐")
    env = {"LINLI_DATABASE_URL": settings.database_url}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["suggestions", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["id"], r["anonymous"], r["sender"]) for r in rows] == [
        ("S1", False, {"platform": "sim", "id": "wangayi", "name": "王阿姨"}),
        ("S2", True, None),
    ]
    env["LINLI_COUNCIL__SUGGESTIONS__COMMITTEE_SEES_ANONYMOUS"] = "true"
    shown = json.loads((await asyncio.to_thread(CliRunner().invoke, main, ["suggestions", "--json"], env=env)).stdout)
    assert shown[1]["sender"]["id"] == "r-lin"
