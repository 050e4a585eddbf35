"""Corrections from the grid, in chat and by direct message: each one stored with the original text and the
decision it overrides, each routed as its new labels want; refusals change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.simulated import SimulatedAdapter
from bot.texts.chat import help_text
from config.settings import Settings
from handlers.council import agenda
from handlers.deadlines import sweep_deadlines
from handlers.digest import Week, committee_markdown, compute
from nlp.command import Audience
from nlp.decision import Domain, Kind
from tests.core.grid_chat import GridChat, dms, says, text
from tests.harness import running

LIGHT = "6楼走廊灯坏了，晚上黑麻麻好危险，麻烦楼长看看 13800001234"
LEAK = "楼顶水箱漏水，整栋楼的水都是黄的"
GRID_ABOVE = {"tan", "chen", "huangmin"}


@pytest.fixture
async def grid(settings: Settings) -> AsyncIterator[GridChat]:
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False) as it:
        chat = GridChat(it.service, adapter)
        chat.decide(LIGHT, kind=Kind.TRIVIAL, domain=Domain.DAILY_LIFE, rules=("daily.fixture",))
        chat.decide(LEAK, kind=Kind.MAJOR, domain=Domain.DAILY_LIFE, rules=("daily.water",))
        yield chat


async def council(grid: GridChat) -> list[int]:
    async with grid.service.store.sessions() as session:
        return [item.ticket for item in await agenda(session, grid.service.settings, "beijiang")]


async def test_a_trivial_made_major_reaches_the_branch_the_committee_and_the_council(grid: GridChat) -> None:
    await grid.post("r-chen", LIGHT, name="陈生")
    assert await council(grid) == []
    sent = await grid.post("lixingshan", "改为大事 #1", name="李杏珊")
    ticket = await grid.ticket(1)
    assert (ticket.kind, ticket.urgent, ticket.council_pending) == ("major", False, True)
    assert set(dms(sent)) == GRID_ABOVE
    assert all("【大事】#1" in t and "由 李杏珊 改为大事" in t for t in dms(sent).values())
    [announcement] = says(sent)
    assert "#1 已由 李杏珊 改为大事" in announcement.text
    assert "小区党支部书记 谭丽娟" in announcement.text
    assert "党群议事会" in announcement.text
    assert await council(grid) == [1]
    [correction] = await grid.corrections()
    assert correction.text == LIGHT, "the original report, whole"
    assert correction.decision["kind"] == "trivial"
    assert correction.decision["rules"] == ["daily.fixture"]
    assert (correction.before["kind"], correction.after["kind"]) == ("trivial", "major")
    assert (correction.actor, correction.change, correction.at) == ("p-li", "major", grid.clock)
    assert "correct" in await grid.events(1)


async def test_a_major_made_trivial_leaves_the_council_and_the_assignee_hears_of_it(grid: GridChat) -> None:
    await grid.post("r-chen", LEAK)
    assert await council(grid) == [1]
    sent = await grid.dm("tan", "改为小事 #1")
    ticket = await grid.ticket(1)
    assert (ticket.kind, ticket.council_pending) == ("trivial", False)
    assert await council(grid) == []
    assert "已把 #1 改为小事" in dms(sent)["tan"]
    assert "已由 谭丽娟 改为小事" in dms(sent)["lixingshan"]
    assert says(sent) == [], "nothing for the group to hear"


async def test_not_an_issue_closes_it_as_noise_out_of_the_figures(grid: GridChat) -> None:
    await grid.post("r-chen", LIGHT, name="陈生")
    await grid.post("r-lin", LEAK, name="林生")
    sent = await grid.post("lixingshan", "不是问题 #1", name="李杏珊")
    ticket = await grid.ticket(1)
    assert (ticket.state, ticket.kind) == ("closed", "noise")
    assert ticket.closed_at == grid.clock
    [announcement] = says(sent)
    assert announcement.mentions == ("r-chen",)
    assert "#1 经 李杏珊 确认不需要处理，已关闭" in announcement.text
    settings = grid.service.settings
    async with grid.service.store.sessions() as session:
        digest = await compute(session, settings, "beijiang", Week.parse("2026-W47", ZoneInfo(settings.timezone)))
    figures = digest.figures()
    assert figures["new"] == 1, "the noise ticket is no ticket"
    assert figures["acceptance_rate"] == 0.0
    assert figures["corrections"] == {
        "tickets": 1,
        "confusions": [{"what": "tier", "from": "trivial", "to": "noise", "count": 1}],
    }


async def test_a_changed_area_changes_the_deadline_class(settings: Settings) -> None:
    faster = settings.model_copy(deep=True)
    faster.schedule.sla["trivial/环境卫生"] = faster.schedule.sla["urgent"].model_copy()
    adapter = SimulatedAdapter()
    async with running(faster, [adapter], start=False) as it:
        grid = GridChat(it.service, adapter)
        grid.decide(LIGHT, kind=Kind.TRIVIAL, domain=Domain.DAILY_LIFE)
        await grid.post("r-chen", LIGHT)
        opened = grid.clock
        await grid.run(sweep_deadlines, grid.clock)
        assert (await grid.ticket(1)).sla_deadline_at == opened + timedelta(hours=4)
        sent = await grid.post("lixingshan", "改领域 #1 卫生")
        assert "服务领域改为 环境卫生" in text(sent)
        assert (await grid.ticket(1)).domain == "环境卫生"
        await grid.run(sweep_deadlines, grid.clock)
        assert (await grid.ticket(1)).sla_deadline_at == opened + timedelta(minutes=15)


async def test_an_unknown_area_is_refused_politely(grid: GridChat) -> None:
    await grid.post("r-chen", LIGHT)
    assert "没有“火星”这个服务领域" in text(await grid.post("lixingshan", "改领域 #1 火星"))
    assert "请写上新的服务领域" in text(await grid.post("lixingshan", "改领域 #1"))
    assert (await grid.ticket(1)).domain == "日常生活"
    assert await grid.corrections() == []


async def test_urgent_tells_every_level_and_not_urgent_takes_it_back(grid: GridChat) -> None:
    await grid.post("r-chen", LIGHT, name="陈生")
    sent = await grid.post("lixingshan", "紧急 #1", name="李杏珊")
    ticket = await grid.ticket(1)
    assert (ticket.kind, ticket.urgent) == ("major", True)
    assert set(dms(sent)) == GRID_ABOVE
    [announcement] = says(sent)
    assert "#1 已由 李杏珊 改为紧急" in announcement.text
    assert "119" in announcement.text
    sent = await grid.post("tan", "不紧急 #1", name="谭丽娟")
    ticket = await grid.ticket(1)
    assert (ticket.kind, ticket.urgent) == ("major", False)
    assert "已取消 #1 的紧急标记" in text(sent)
    assert [c.change for c in await grid.corrections()] == ["urgent", "not_urgent"]


@pytest.mark.parametrize(
    "command", ["改为大事 #1", "改为小事 #1", "不是问题 #1", "改领域 #1 环境卫生", "紧急 #1", "不紧急 #1"]
)
@pytest.mark.parametrize("sender", ["r-chen", "he"])
async def test_without_the_right_nothing_changes(grid: GridChat, command: str, sender: str) -> None:
    await grid.post("r-chen", LEAK, name="陈生")
    await grid.post("lixingshan", "紧急 #1")
    before = await grid.ticket(1)
    sent = await grid.post(sender, command)
    assert "只能由责任人或上级网格" in text(sent)
    after = await grid.ticket(1)
    assert (after.kind, after.urgent, after.domain, after.state) == (
        before.kind,
        before.urgent,
        before.domain,
        before.state,
    )
    assert len(await grid.corrections()) == 1


async def test_a_ticket_that_does_not_exist_or_is_already_so(grid: GridChat) -> None:
    assert "没有找到 #99" in text(await grid.post("lixingshan", "改为大事 #99"))
    await grid.post("r-chen", LEAK)
    assert "#1 已经是大事，无需更改" in text(await grid.post("lixingshan", "改为大事 #1"))
    assert "#1 目前不是紧急事项" in text(await grid.post("lixingshan", "不紧急 #1"))
    assert await grid.corrections() == []


async def test_a_finished_ticket_is_corrected_for_the_record_only(grid: GridChat) -> None:
    await grid.post("r-chen", LIGHT)
    await grid.post("lixingshan", "办结 #1 已换灯管")
    await grid.post("r-chen", "评价 #1 满意")
    sent = await grid.post("lixingshan", "紧急 #1")
    [reply] = says(sent)
    assert reply.mentions == ("lixingshan",)
    assert "已把 #1 记为紧急" in reply.text
    assert dms(sent) == {}, "nobody is alarmed about a closed ticket"
    assert (await grid.ticket(1)).state == "closed"
    assert [c.change for c in await grid.corrections()] == ["urgent"]


async def test_help_lists_the_corrections_for_the_grid_only() -> None:
    assert "改为大事 #编号" in help_text([Audience.RESIDENT, Audience.GRID])
    assert "改为大事" not in help_text([Audience.RESIDENT])


async def test_the_committee_digest_counts_corrections_and_the_common_confusions(grid: GridChat) -> None:
    reports = ["3楼走廊灯坏了", "门口垃圾桶满了没人收", "楼下单车棚的锁坏了"]
    for number, report in enumerate(reports, 1):
        grid.decide(report, kind=Kind.TRIVIAL, domain=Domain(["日常生活", "环境卫生", "空间管理"][number - 1]))
        await grid.post(f"r-{number}", report)
        await grid.post("lixingshan", f"改为大事 #{number}")
    await grid.post("lixingshan", "改领域 #1 安全管理")
    await grid.post("r-9", LEAK)
    settings = grid.service.settings
    async with grid.service.store.sessions() as session:
        digest = await compute(session, settings, "beijiang", Week.parse("2026-W47", ZoneInfo(settings.timezone)))
    full = committee_markdown(digest)
    assert "## 分类更正" in full
    assert "网格更正了 3 件工单的分类" in full
    assert "- 小事→大事 ×3\n- 日常生活→安全管理 ×1" in full
