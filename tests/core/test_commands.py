"""Chat commands, permissions, transitions and merges, driven through the simulated platform."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.adapters.simulated import SimulatedAdapter
from bot.app import Service
from bot.message import DirectMessage, IncomingMessage, Say
from storage.models import PointEntry, Rating, Ticket, TicketEvent
from tests.conftest import Chat

Sim = tuple[Service, SimulatedAdapter]


class Transcript:
    """Feed messages and read back what the bot said in reply to each, and the tickets."""

    def __init__(self, sim: Sim) -> None:
        self.service, self.adapter = sim
        self.group = Chat("sim-sdc-3")
        self.dm = Chat("dm", start=self.group.clock)

    async def say(self, msg: IncomingMessage) -> list[Say | DirectMessage]:
        before = len(self.adapter.sent)
        await self.service.receive(msg)
        await self.service.outbox.drain()
        return list(self.adapter.sent[before:])  # type: ignore[arg-type]

    async def in_group(self, sender: str, text: str, name: str | None = None) -> list[Say | DirectMessage]:
        self.dm.clock = self.group.clock
        return await self.say(self.group.msg(sender, text, name=name))

    async def by_dm(self, sender: str, text: str) -> list[Say | DirectMessage]:
        self.group.clock = self.dm.clock + timedelta(minutes=1)
        return await self.say(self.dm.msg(sender, text))

    async def ticket(self, number: int) -> Ticket:
        async with self.service.store.sessions() as session:
            ticket = await session.get(Ticket, number)
            assert ticket is not None
            return ticket

    async def events(self, number: int) -> list[tuple[str, str]]:
        async with self.service.store.sessions() as session:
            rows = await session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)
            )
            return [(e.action, e.to_state) for e in rows]


@pytest.fixture
def chat(sim: Sim) -> Transcript:
    return Transcript(sim)


def texts(replies: list[Say | DirectMessage]) -> str:
    return "\n".join(r.text for r in replies)


async def test_accept_and_resolve_in_the_group_then_the_resident_rates(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了", name="陈生")
    replies = await chat.in_group("lixingshan", "接单 #1", name="李杏珊")
    assert "已由 李杏珊 接单" in texts(replies)
    assert replies[0].mentions == ("r-chen",)  # type: ignore[union-attr]
    assert (await chat.ticket(1)).state == "accepted"

    replies = await chat.in_group("lixingshan", "＃1 办结 已更换灯管", name="李杏珊")
    assert "已更换灯管" in texts(replies)
    assert "评价 #1" in texts(replies)
    ticket = await chat.ticket(1)
    assert ticket.state == "resolved"
    assert ticket.resolution_note == "已更换灯管"

    replies = await chat.in_group("r-chen", "评价 #1 满意", name="陈生")
    assert "已关闭" in texts(replies)
    assert (await chat.ticket(1)).state == "closed"
    assert await chat.events(1) == [
        ("open", "open"),
        ("assign", "assigned"),
        ("accept", "accepted"),
        ("resolve", "resolved"),
        ("close", "closed"),
    ]
    async with chat.service.store.sessions() as session:
        points = {(p.person_id, p.reason): p.points for p in await session.scalars(select(PointEntry))}
        ratings = [(r.sender_id, r.score) for r in await session.scalars(select(Rating))]
    assert points == {("p-li", "accept_on_time"): 2, ("p-li", "resolve"): 3, ("p-li", "good_rating"): 2}
    assert ratings == [("r-chen", 5)]


@pytest.mark.parametrize(
    "command", ["接单 #1", "接单#1", "接单1", "接单 ＃１", "@linli 接单 #1", "#1 接单", "接单：#1"]
)
async def test_accept_is_tolerant_of_form(chat: Transcript, command: str) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("lixingshan", command)
    assert (await chat.ticket(1)).state == "accepted"


async def test_leader_commands_work_by_direct_message(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了", name="陈生")
    replies = await chat.by_dm("lixingshan", "接单 #1")
    group_say = [r for r in replies if isinstance(r, Say)]
    dm_back = [r for r in replies if isinstance(r, DirectMessage)]
    assert [s.chat_id for s in group_say] == ["sim-sdc-3"]
    assert [d.to for d in dm_back] == ["lixingshan"]
    assert (await chat.ticket(1)).state == "accepted"


async def test_only_the_assignee_or_higher_may_act(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    refused = await chat.in_group("he", "接单 #1")  # leader of another building
    assert "只能由责任人或上级网格接单" in texts(refused)
    refused = await chat.in_group("r-chen", "办结 #1")  # a resident
    assert "只能由责任人" in texts(refused)
    assert (await chat.ticket(1)).state == "assigned"
    await chat.in_group("tan", "接单 #1")  # the estate's branch secretary is higher
    assert (await chat.ticket(1)).state == "accepted"


async def test_illegal_transition_is_refused_and_changes_nothing(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("lixingshan", "不受理 #1 属于私人纠纷")
    before = await chat.events(1)
    replies = await chat.in_group("lixingshan", "接单 #1")
    assert "不能接单" in texts(replies)
    assert (await chat.ticket(1)).state == "rejected"
    assert await chat.events(1) == before


async def test_reject_needs_a_reason(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    replies = await chat.in_group("lixingshan", "不受理 #1")
    assert "理由" in texts(replies)
    assert (await chat.ticket(1)).state == "assigned"


async def test_transfer_to_someone_named_and_to_an_unknown_person(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    replies = await chat.in_group("lixingshan", "转派 #1 @张三丰")
    assert "没有找到“张三丰”" in texts(replies)
    assert (await chat.ticket(1)).assignee_id == "p-li"
    replies = await chat.in_group("lixingshan", "转派 #1 @何秀英")
    ticket = await chat.ticket(1)
    assert (ticket.assignee_id, ticket.state) == ("p-he", "assigned")
    assert any(isinstance(r, DirectMessage) and r.to == "he" for r in replies)


async def test_escalate_tells_the_next_level_and_keeps_the_assignee(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    replies = await chat.in_group("lixingshan", "升级 #1")
    ticket = await chat.ticket(1)
    assert (ticket.state, ticket.escalation_level, ticket.assignee_id) == ("escalated", 1, "p-li")
    assert {r.to for r in replies if isinstance(r, DirectMessage)} == {"tan"}
    await chat.in_group("lixingshan", "升级 #1")
    replies_dm = {r.to for r in chat.adapter.sent if isinstance(r, DirectMessage)}
    assert {"chen", "huangmin"} <= replies_dm
    assert (await chat.ticket(1)).escalation_level == 2
    replies = await chat.in_group("lixingshan", "升级 #1")
    assert "最高一级" in texts(replies)
    await chat.in_group("lixingshan", "接单 #1")  # the assignee may still accept an escalated ticket
    assert (await chat.ticket(1)).state == "accepted"


async def test_progress_without_number_lists_own_open_tickets(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("r-chen", "楼顶水箱漏水")
    await chat.in_group("r-lin", "门口垃圾没人收")
    replies = await chat.in_group("r-chen", "进度")
    text = texts(replies)
    assert "#1" in text
    assert "#2" in text
    assert "#3" not in text
    replies = await chat.by_dm("r-lin", "进度 #3")
    assert "#3" in texts(replies)
    assert "待接单" in texts(replies)


async def test_residents_act_only_on_their_own_tickets(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    replies = await chat.in_group("r-lin", "撤销 #1")
    assert "没有找到 #1" in texts(replies)  # the same answer as for a number that does not exist
    replies = await chat.in_group("r-chen", "撤销 #1")
    assert "已按您的要求撤销" in texts(replies)
    assert (await chat.ticket(1)).state == "withdrawn"


async def test_bad_rating_reopens_and_tells_the_leader(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("lixingshan", "办结 #1 已修")
    replies = await chat.in_group("r-chen", "评价 #1 不满意")
    assert (await chat.ticket(1)).state == "reopened"
    assert any(isinstance(r, DirectMessage) and r.to == "lixingshan" for r in replies)
    await chat.in_group("lixingshan", "办结 #1 换了新灯管")
    assert (await chat.ticket(1)).state == "resolved"


@pytest.mark.parametrize("rating", ["评价 #1 6", "评价 #1 0", "评价 #1 还行吧", "评价 #1"])
async def test_rating_out_of_range_is_refused(chat: Transcript, rating: str) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("lixingshan", "办结 #1 已修")
    replies = await chat.in_group("r-chen", rating)
    assert "1-5" in texts(replies)
    assert (await chat.ticket(1)).state == "resolved"


async def test_commands_on_missing_ticket_or_other_community(chat: Transcript) -> None:
    replies = await chat.in_group("lixingshan", "接单 #99")
    assert "没有找到 #99" in texts(replies)
    replies = await chat.in_group("lixingshan", "接单")
    assert "请带上工单编号" in texts(replies)


async def test_repeated_report_merges_and_enough_households_make_it_major(chat: Transcript) -> None:
    await chat.in_group("r-1", "6楼走廊灯坏了", name="一号")
    replies = await chat.in_group("r-2", "六楼走廊灯还是不亮", name="二号")
    assert "已有 #1 在处理" in texts(replies)
    await chat.in_group("r-3", "3楼水管漏水")  # a different problem in the same building
    async with chat.service.store.sessions() as session:
        count = len((await session.scalars(select(Ticket))).all())
    assert count == 2
    ticket = await chat.ticket(1)
    assert [r.sender_id for r in ticket.reporters] == ["r-1", "r-2"]
    assert ticket.kind == "trivial"
    replies = await chat.in_group("r-4", "6楼走廊的灯坏了好几天", name="四号")
    ticket = await chat.ticket(1)
    assert ticket.kind == "major"
    assert ticket.council_pending
    # a major matter has its own deadlines: the sweep plans the ticket again from the promotion
    assert ticket.sla_due_at == chat.group.clock
    assert {"tan", "chen", "huangmin"} <= {r.to for r in replies if isinstance(r, DirectMessage)}


async def test_a_flood_from_one_sender_makes_one_ticket_and_one_acknowledgement(chat: Transcript) -> None:
    replies = []
    for _ in range(10):
        replies += await chat.in_group("r-1", "6楼走廊灯坏了！！！")
    async with chat.service.store.sessions() as session:
        assert len((await session.scalars(select(Ticket))).all()) == 1
    assert len([r for r in replies if isinstance(r, Say)]) == 1


async def test_photo_after_a_report_is_attached_and_voice_gets_a_request(chat: Transcript) -> None:
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    photo = chat.group.msg("r-chen", "")
    photo = IncomingMessage(**{**photo.__dict__, "content_type": "image"}) if hasattr(photo, "__dict__") else photo
    replies = await chat.say(
        IncomingMessage(
            platform="sim",
            chat_id="sim-sdc-3",
            chat_name="",
            sender_id="r-chen",
            sender_name="陈生",
            text="",
            message_id="photo-1",
            time=chat.group.clock,
            content_type="image",
        )
    )
    assert "照片已附在 #1" in texts(replies)
    assert ("attach", "assigned") in await chat.events(1)
    replies = await chat.say(
        IncomingMessage(
            platform="sim",
            chat_id="sim-sdc-3",
            chat_name="",
            sender_id="r-old",
            sender_name="婆婆",
            text="",
            message_id="voice-1",
            time=chat.group.clock,
            content_type="voice",
        )
    )
    assert "用几个字" in texts(replies)


async def test_bind_an_unknown_group(chat: Transcript) -> None:
    other = Chat("sim-new-group")
    await chat.say(other.msg("r-1", "6楼走廊灯坏了"))
    refused = await chat.say(other.msg("lixingshan", "绑定 时代城1栋"))
    assert "只有社区党委" in texts(refused)
    replies = await chat.say(other.msg("chen", "绑定 时代城1栋"))
    assert "已绑定到 时代城1栋" in texts(replies)
    await chat.say(other.msg("r-2", "1楼走廊灯坏了，黑麻麻"))
    ticket = await chat.ticket(1)
    assert (ticket.unit_id, ticket.assignee_id) == ("sdc-1", "p-liang")


async def test_help_and_lists_and_points(chat: Transcript) -> None:
    assert "进度" in texts(await chat.in_group("r-chen", "帮助"))
    assert "接单" in texts(await chat.by_dm("lixingshan", "帮助"))
    await chat.in_group("r-chen", "6楼走廊灯坏了")
    assert "#1" in texts(await chat.by_dm("lixingshan", "我的任务"))
    assert "#1" in texts(await chat.by_dm("lixingshan", "待办"))
    await chat.in_group("lixingshan", "接单 #1")
    assert "#1" not in texts(await chat.by_dm("lixingshan", "待办"))
    assert "2 分" in texts(await chat.by_dm("lixingshan", "积分"))
    assert "1. 李杏珊 2 分" in texts(await chat.in_group("r-chen", "排行"))


async def test_dispatch_to_a_co_building_unit(chat: Transcript) -> None:
    replies = await chat.in_group("r-huo", "家里宽带坏了，上不了网")
    hint = [r for r in replies if isinstance(r, DirectMessage)]
    assert "派单 #1 中国电信三水分公司" in hint[0].text
    replies = await chat.in_group("lixingshan", "派单 #1 电信")
    ticket = await chat.ticket(1)
    assert (ticket.co_unit_id, ticket.assignee_id) == ("cu-telecom", "p-telecom")
    assert any(isinstance(r, DirectMessage) and r.to == "telecom-zheng" for r in replies)
    await chat.by_dm("telecom-zheng", "接单 #1")
    assert (await chat.ticket(1)).state == "accepted"


async def test_plain_direct_message_gets_a_hint(chat: Transcript) -> None:
    replies = await chat.by_dm("r-someone", "你好")
    assert "帮助" in texts(replies)


async def test_digest_counts_ratings_and_points(chat: Transcript) -> None:
    from zoneinfo import ZoneInfo

    from handlers.digest import Week, compute

    await chat.in_group("r-chen", "6楼走廊灯坏了")
    await chat.in_group("lixingshan", "接单 #1")
    await chat.in_group("lixingshan", "办结 #1 已换灯管")
    await chat.in_group("r-chen", "评价 #1 4")
    await chat.in_group("r-lin", "门口垃圾没人收")
    await chat.in_group("lixingshan", "办结 #2 已清走")
    await chat.in_group("r-lin", "评价 #2 不满意")
    settings = chat.service.settings
    async with chat.service.store.sessions() as session:
        digest = await compute(session, settings, "beijiang", Week.parse("2026-W47", ZoneInfo(settings.timezone)))
    figures = digest.figures()
    assert figures["satisfaction"] == 2.5
    # 李杏珊: accepted #1 on time (2), resolved #1 and #2 (3 + 3), a good rating (2), a bad one (-2).
    assert figures["points"] == [{"id": "p-li", "name": "李杏珊", "points": 8, "week": 8}]
