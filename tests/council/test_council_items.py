"""四议两公开 as a transcript: a major ticket taken to the council, each step in order by the right role,
the resolution and the result published in every group of the unit, and the ticket closing only then."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from handlers import lifecycle
from storage.council_models import CouncilStep
from storage.models import TicketEvent
from tests.council.conftest import Talk, text, to_chat, to_person

LIFT = "5号楼想加装电梯，老人家爬楼梯好辛苦"
GROUP = "sim-lxc-5"
WECOM_GROUP = "wrkSFfCgAAlaoxijie5"  # 老西街5号楼服务群: the same building on WeCom


async def lift_item(talk: Talk) -> int:
    """A resident of 老西街5号楼 asks for a lift; the committee takes it to the council."""
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    replies = await talk.dm("chen", "上会 #1", name="陈志华")
    assert "已列入党群议事会议题" in text(replies)
    return 1


async def steps(talk: Talk, ticket: int) -> list[tuple[str, str]]:
    async with talk.service.store.sessions() as session:
        rows = await session.scalars(select(CouncilStep).order_by(CouncilStep.id))
        return [(s.stage, s.actor) for s in rows]


async def test_the_lift_goes_through_every_step_and_closes_when_the_result_is_public(talk: Talk) -> None:
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    replies = await talk.dm("chen", "上会 #1", name="陈志华")
    assert to_person(replies, "chen") == [
        f"#1「{LIFT}」已列入党群议事会议题。下一步：党支部提议，请回复“提议 #1 提议内容”。"
    ]
    # the reporters hear of it in their group; the branch that proposes is asked to
    assert to_chat(replies, GROUP) == [f"@陈伯 #1「{LIFT}」已提交党群议事会，大家共商共议，决议和结果都会在群里公开。"]
    assert "下一步：党支部提议" in to_person(replies, "lu")[0]

    replies = await talk.dm("lu", "提议 #1 拟为5号楼加装电梯，费用按楼层分摊，申请政府补贴", name="卢桂芳")
    assert "已记录 #1 的提议" in text(replies)
    assert {"chen", "huangmin"} <= {r.to for r in replies if hasattr(r, "to")}  # the committee consults next
    await talk.dm("chen", "商议 #1 两委会同意推进，先征求住户意见", name="陈志华")
    replies = await talk.dm("lu", "审议 #1 党员大会审议通过", name="卢桂芳")
    assert to_person(replies, "r-deng")  # the residents' representatives resolve next
    await talk.dm("r-deng", "决议 #1 居民代表会议决议：5号楼加装电梯，费用按楼层分摊", name="邓婆婆")

    before = await talk.last_outbox_id()
    replies = await talk.dm("chen", "公开决议 #1", name="陈志华")
    published = [r for r in await talk.queued(before) if r.kind == "say"]
    # every group of 老西街5号楼, on every platform; the resolution's words are those recorded
    assert {r.chat_id for r in published} == {GROUP, WECOM_GROUP}
    assert all("【决议公开】#1" in r.text and "费用按楼层分摊" in r.text for r in published)
    assert (await talk.ticket(1)).state == "assigned"

    replies = await talk.dm("chen", "公开结果 #1 电梯已安装完成并通过验收，12月28日起使用", name="陈志华")
    assert "本议题已走完四议两公开" in text(replies)
    assert to_chat(replies, GROUP) == [
        f"@陈伯 【结果公开】#1「{LIFT}」决议落实情况：电梯已安装完成并通过验收，12月28日起使用。"
        "本事项已办结，感谢街坊们参与！"
    ]
    ticket = await talk.ticket(1)
    assert ticket.state == "closed"
    assert ticket.resolution_note == "电梯已安装完成并通过验收，12月28日起使用"
    assert await steps(talk, 1) == [
        ("proposal", "p-lu"),
        ("consultation", "p-chen"),
        ("review", "p-lu"),
        ("resolution", "p-deng"),
        ("resolution_published", "p-chen"),
        ("result_published", "p-chen"),
    ]
    async with talk.service.store.sessions() as session:
        events = list(await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == 1)))
    assert [e.action for e in events if e.action.startswith("council")] == [
        "council",
        "council:proposal",
        "council:consultation",
        "council:review",
        "council:resolution",
        "council:resolution_published",
        "council:result_published",
    ]
    assert (events[-1].action, events[-1].from_state, events[-1].to_state) == ("conclude", "assigned", "closed")


async def test_a_step_out_of_order_is_refused_and_changes_nothing(talk: Talk) -> None:
    await lift_item(talk)
    replies = await talk.dm("chen", "商议 #1 同意", name="陈志华")
    assert text(replies) == "#1 目前待党支部提议，四议两公开要按顺序来，下一步是党支部提议（“提议 #1 提议内容”）。"
    await talk.dm("lu", "提议 #1 加装电梯", name="卢桂芳")
    replies = await talk.dm("chen", "公开结果 #1 装好了", name="陈志华")
    assert "下一步是两委会商议" in text(replies)
    assert await steps(talk, 1) == [("proposal", "p-lu")]


async def test_only_the_roles_named_may_record_a_step(talk: Talk) -> None:
    await lift_item(talk)
    # the committee may not propose (the branch does); another estate's branch may not either
    assert "须由小区党支部书记记录" in text(await talk.dm("chen", "提议 #1 加装电梯", name="陈志华"))
    assert "须由小区党支部书记记录" in text(await talk.dm("tan", "提议 #1 加装电梯", name="谭丽娟"))
    await talk.dm("lu", "提议 #1 加装电梯", name="卢桂芳")
    # a building leader is on the grid but not on the council's steps
    assert "须由社区党委记录" in text(await talk.dm("feng", "商议 #1 同意", name="冯伯"))
    assert await steps(talk, 1) == [("proposal", "p-lu")]


async def test_a_residents_chat_that_starts_like_a_step_is_left_alone(talk: Talk) -> None:
    await lift_item(talk)
    replies = await talk.say(GROUP, "r-zhang", "提议 大家周末一起搞下卫生", name="张生")
    assert "须由" not in text(replies)
    assert "工单编号" not in text(replies)
    assert await steps(talk, 1) == []


async def test_only_major_unfinished_tickets_go_to_the_council(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-chen", "6楼走廊灯坏了", name="陈生")
    assert text(await talk.dm("chen", "上会 #1")) == "#1 是小事，由楼长和街坊会跟进；只有大事需要上会。"
    assert "上会须由社区党委提出" in text(await talk.dm("lixingshan", "上会 #1"))
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    await talk.dm("chen", "上会 #2")
    assert text(await talk.dm("huangmin", "上会 #2")) == "#2 已是议事会议题（待党支部提议）。"
    assert "没有找到 #99" in text(await talk.dm("chen", "上会 #99"))


async def test_steps_that_record_words_need_them(talk: Talk) -> None:
    await lift_item(talk)
    assert text(await talk.dm("lu", "提议 #1")) == "请写上提议内容，例如“提议 #1 提议内容”。"
    assert await steps(talk, 1) == []


async def test_the_ticket_cannot_close_or_be_dropped_before_the_result_is_public(talk: Talk) -> None:
    await lift_item(talk)
    await talk.say(GROUP, "feng", "接单 #1", name="冯伯")
    await talk.say(GROUP, "feng", "办结 #1 已收集住户意见，交议事会", name="冯伯")
    assert (await talk.ticket(1)).state == "resolved"
    refused = "#1 是党群议事会议题，要等实施结果公开后才办结，现在不能这样操作。"
    assert text(await talk.say(GROUP, "r-chen", "评价 #1 满意", name="陈伯")) == f"@陈伯 {refused}"
    assert text(await talk.say(GROUP, "r-chen", "撤销 #1", name="陈伯")) == f"@陈伯 {refused}"

    # the auto-close job passes it by, days later, whatever it finds
    replies = await talk.run("close_resolved_tickets", talk.clock + timedelta(days=5))
    assert not any("#1" in r.text for r in replies)
    assert (await talk.ticket(1)).state == "resolved"

    # and staff cannot close it by hand either (the lifecycle says no, whoever calls it)
    async def close(ctx: JobContext) -> JobOutcome:
        ticket = await ctx.tickets.get(1)
        assert ticket is not None
        try:
            await lifecycle.close(ctx, ticket, actor="staff", at=ctx.now, note="")
        except lifecycle.AwaitingCouncil:
            return JobOutcome(report=["refused"])
        return JobOutcome(report=["closed"])

    runner = JobRunner(talk.service.store.sessions, talk.service.settings)
    assert await runner.run(close, talk.clock) == ["refused"]
    assert (await talk.ticket(1)).state == "resolved"

    # nor in bulk, should a batch of resolved tickets ever include it
    async def close_in_bulk(ctx: JobContext) -> JobOutcome:
        ticket = await ctx.tickets.get(1)
        assert ticket is not None
        closed = await lifecycle.close_many(ctx, [ticket], actor="staff", at=ctx.now, note="")
        return JobOutcome(report=[t.id for t in closed])

    assert await runner.run(close_in_bulk, talk.clock) == []
    assert (await talk.ticket(1)).state == "resolved"


async def test_a_suggestion_taken_to_the_council_becomes_a_major_ticket_in_its_group(talk: Talk) -> None:
    await talk.dm("wangayi", "建议小区门口加个快递柜，老人家取快递方便啲", name="王阿姨")
    replies = await talk.dm("chen", "上会 #S1", name="陈志华")
    assert "#1「小区门口加个快递柜，老人家取快递方便啲」已列入党群议事会议题" in text(replies)
    ticket = await talk.ticket(1)
    assert (ticket.kind, ticket.unit_id, ticket.chat_id, ticket.assignee_id) == ("major", "sdc-3", "sim-sdc-3", "p-li")
    assert [r.sender_id for r in ticket.reporters] == ["wangayi"]
    assert to_chat(replies, "sim-sdc-3")  # her building's group hears it went to the council
    assert "新任务 #1" in to_person(replies, "lixingshan")[0]
    assert "已是议事会议题" in text(await talk.dm("chen", "上会 #S1"))


async def test_an_anonymous_suggestion_keeps_its_sender_off_the_ticket(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-lin", "大家好", name="林小姐")
    await talk.dm("r-lin", "匿名建议 希望物业晚上多巡逻几次", name="林小姐")
    await talk.dm("chen", "上会 #S1", name="陈志华")
    ticket = await talk.ticket(1)
    assert ticket.reporters == []
    assert ticket.unit_id == "sdc-3"
