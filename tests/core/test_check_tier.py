"""The second alarm tier: a ``check`` asks the accountable leader to look now; 确认紧急 raises it up the grid,
不紧急 keeps an ordinary ticket, and no answer in time counts as urgent. Quiet hours never hold a check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.simulated import SimulatedAdapter
from config.settings import Settings
from handlers.checks import escalate_unanswered_checks
from handlers.council import agenda
from nlp.decision import Domain, Kind
from nlp.similarity import similarity
from storage.models import OutboxItem
from tests.conftest import SHANGHAI
from tests.core.grid_chat import GridChat, dms, says, text
from tests.harness import running

CRYING = "对门家里一直有摔东西和哭的声音，已经半个钟了"
GRID_ABOVE = {"tan", "chen", "huangmin"}


@pytest.fixture
async def grid(settings: Settings) -> AsyncIterator[GridChat]:
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False) as it:
        chat = GridChat(it.service, adapter)
        chat.decide(CRYING, kind=Kind.MAJOR, check=True, domain=Domain.SAFETY)
        yield chat


async def report_check(grid: GridChat, kind: Kind = Kind.MAJOR) -> list[object]:
    grid.decide(CRYING, kind=kind, check=True, domain=Domain.SAFETY)
    return await grid.post("r-chen", CRYING, name="陈生")  # type: ignore[return-value]


async def test_a_check_asks_the_leader_to_look_now_and_tells_the_reporter_so(grid: GridChat) -> None:
    sent = await grid.post("r-chen", CRYING, name="陈生")
    [ack] = says(sent)
    assert ack.mentions == ("r-chen",)
    assert "已记录 #1" in ack.text
    assert "已请楼长 李杏珊 马上去看看" in ack.text
    assert "119" not in ack.text, "the full emergency list is for urgent reports"
    ask = dms(sent)["lixingshan"]
    assert "【请马上核实】#1" in ask
    assert "“确认紧急 #1”" in ask
    assert "“不紧急 #1”" in ask
    assert "10 分钟" in ask
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (False, "major", "pending")
    assert ticket.check_due_at == grid.clock + timedelta(minutes=10)
    assert ticket.decision["check"] is True
    # A major check reaches the levels above as any major report does, and at once.
    assert set(dms(sent)) >= GRID_ABOVE
    assert "check" in await grid.events(1)


async def test_confirm_urgent_goes_up_the_grid_at_once(grid: GridChat) -> None:
    await report_check(grid, Kind.TRIVIAL)
    sent = await grid.post("lixingshan", "确认紧急 #1", name="李杏珊", after=4)
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (True, "major", "confirmed")
    assert ticket.check_due_at is None
    assert ticket.sla_due_at == grid.clock, "the urgent deadlines are planned at once"
    told = dms(sent)
    assert set(told) == GRID_ABOVE, "everyone above is told; the leader who confirmed is not told again"
    assert all(t.startswith("【紧急】#1") and "经 李杏珊 核实情况紧急" in t for t in told.values())
    [announcement] = says(sent)
    assert announcement.mentions == ("r-chen",)
    assert "#1 经 李杏珊 核实情况紧急" in announcement.text
    assert "110" in announcement.text
    assert "120" in announcement.text
    assert "96333" not in announcement.text
    assert "96777" not in announcement.text
    assert [i.id for i in await agenda_items(grid)] == [], "urgent tickets are not the council's business"
    assert await grid.run(escalate_unanswered_checks, grid.clock + timedelta(minutes=20)) == []
    assert "check_confirm" in await grid.events(1)


async def agenda_items(grid: GridChat) -> list[object]:
    async with grid.service.store.sessions() as session:
        return list(await agenda(session, grid.service.settings, "beijiang"))


async def test_not_urgent_keeps_an_ordinary_ticket_of_its_kind(grid: GridChat) -> None:
    await report_check(grid, Kind.TRIVIAL)
    sent = await grid.post("lixingshan", "不紧急 #1", name="李杏珊", after=3)
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (False, "trivial", "dismissed")
    assert dms(sent) == {}, "nobody above hears of a trivial matter"
    [announcement] = says(sent)
    assert "#1 经 李杏珊 核实暂无危险" in announcement.text
    assert await grid.run(escalate_unanswered_checks, grid.clock + timedelta(hours=1)) == []
    assert not (await grid.ticket(1)).urgent


async def test_no_answer_in_time_counts_as_urgent(grid: GridChat) -> None:
    await report_check(grid, Kind.TRIVIAL)
    asked = grid.clock
    assert await grid.run(escalate_unanswered_checks, asked + timedelta(minutes=9, seconds=59)) == []
    assert (await grid.ticket(1)).check_state == "pending"
    sent = await grid.run(escalate_unanswered_checks, asked + timedelta(minutes=10))
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (True, "major", "unanswered")
    told = dms(sent)
    assert set(told) == {"lixingshan", *GRID_ABOVE}
    assert "10 分钟内未收到您的核实回复" in told["lixingshan"]
    assert "10 分钟内未收到核实回复" in told["chen"]
    [announcement] = says(sent)
    assert "#1 已按紧急情况处理" in announcement.text
    assert "119" in announcement.text
    # Once: a second run, or a second process at the same instant, finds nothing left to do.
    assert await grid.run(escalate_unanswered_checks, asked + timedelta(minutes=10)) == []
    assert await grid.run(escalate_unanswered_checks, asked + timedelta(minutes=11)) == []
    assert (await grid.events(1)).count("check_unanswered") == 1


async def test_an_answer_after_the_time_is_up(grid: GridChat) -> None:
    await report_check(grid, Kind.TRIVIAL)
    await grid.run(escalate_unanswered_checks, grid.clock + timedelta(minutes=10))
    late = await grid.post("lixingshan", "确认紧急 #1", name="李杏珊", after=2)
    assert "已按紧急处理" in text(late)
    assert dms(late) == {}, "the grid was told once already"
    # 不紧急 after the time was up still counts: the grid stands down, the ticket is trivial again.
    sent = await grid.post("lixingshan", "不紧急 #1", name="李杏珊", after=1)
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.kind, ticket.check_state) == (False, "trivial", "dismissed")
    told = dms(sent)
    assert set(told) == GRID_ABOVE
    assert all("暂无危险，已取消紧急" in t for t in told.values())


async def test_quiet_hours_never_hold_a_check(grid: GridChat) -> None:
    grid.clock = datetime(2026, 11, 16, 23, 20, tzinfo=SHANGHAI)
    grid.decide("6楼走廊灯坏了", kind=Kind.TRIVIAL, domain=Domain.DAILY_LIFE)
    calm = await grid.post("r-lin", "6楼走廊灯坏了")
    assert "lixingshan" not in dms(calm), "an ordinary task waits for the morning"
    asked = await report_check(grid, Kind.TRIVIAL)
    assert "【请马上核实】#2" in dms(asked)["lixingshan"]  # type: ignore[arg-type]
    for item in await grid.queued(2):
        assert item.not_before == item.created_at, f"held: {item.text}"
    sent = await grid.run(escalate_unanswered_checks, grid.clock + timedelta(minutes=10))
    assert set(dms(sent)) == {"lixingshan", *GRID_ABOVE}
    held: list[OutboxItem] = [i for i in await grid.queued(1) if i.not_before > i.created_at]
    assert held, "the ordinary ticket's notice is still held: the rule is about checks only"


@pytest.mark.parametrize(
    ("sender", "refusal"), [("r-chen", "只能由责任人或上级网格"), ("he", "只能由责任人或上级网格")]
)
async def test_only_the_grid_may_answer_a_check(grid: GridChat, sender: str, refusal: str) -> None:
    await report_check(grid)
    sent = await grid.post(sender, "确认紧急 #1")
    assert refusal in text(sent)
    sent = await grid.post(sender, "不紧急 #1")
    assert refusal in text(sent)
    ticket = await grid.ticket(1)
    assert (ticket.urgent, ticket.check_state) == (False, "pending")
    assert "没有找到 #99" in text(await grid.post("lixingshan", "不紧急 #99"))


async def test_the_branch_may_answer_by_direct_message(grid: GridChat) -> None:
    await report_check(grid)
    sent = await grid.dm("tan", "确认紧急 #1")
    assert (await grid.ticket(1)).urgent
    assert "lixingshan" in dms(sent), "the assignee hears that their ticket is urgent"
    assert "tan" in dms(sent), "the branch secretary gets the answer by direct message"
    assert [s.chat_id for s in says(sent)] == ["sim-sdc-3"]


async def test_a_check_never_disappears_into_a_calmer_ticket(grid: GridChat) -> None:
    calm = grid.decide("楼上一直好大声", kind=Kind.TRIVIAL, domain=Domain.DISPUTE)
    alarm = grid.decide("楼上一直好大声，还有人哭喊", kind=Kind.TRIVIAL, check=True, domain=Domain.DISPUTE)
    assert similarity(alarm, calm) >= grid.service.settings.tickets.merge_similarity, "it would merge otherwise"
    await grid.post("r-lin", calm)
    await grid.post("r-chen", alarm)
    ticket = await grid.ticket(2)
    assert ticket.check_state == "pending"
    # A second report of the same danger joins the ticket that is being checked.
    again = grid.decide("楼上一直好大声，还有人哭喊救命", kind=Kind.TRIVIAL, check=True, domain=Domain.DISPUTE)
    await grid.post("r-wu", again)
    assert [r.sender_id for r in (await grid.ticket(2)).reporters] == ["r-chen", "r-wu"]


NO_REACH_ORG = """
communities:
  - id: hq
    kind: community
    name: 河桥社区
    units:
      - {id: hq-1, kind: building, name: 河桥1栋, leaders: [p-silent]}
people:
  - {id: p-boss, name: 何主任, role: committee, unit: hq, platform_ids: {sim: boss}}
  - {id: p-silent, name: 冯伯, role: building_leader, unit: hq-1}
groups:
  - {platform: sim, chat_id: sim-hq-1, name: 河桥1栋住户群, unit: hq-1}
"""


async def test_a_check_with_nobody_to_ask_is_urgent_at_once(settings: Settings, tmp_path: Path) -> None:
    org = tmp_path / "org.yaml"
    org.write_text(NO_REACH_ORG, encoding="utf-8")
    adapter = SimulatedAdapter()
    async with running(settings, [adapter], start=False, org=org) as it:
        grid = GridChat(it.service, adapter)
        grid.decide(CRYING, kind=Kind.TRIVIAL, check=True)
        sent = await grid.post("r-1", CRYING, chat="sim-hq-1", name="街坊")
        ticket = await grid.ticket(1)
        assert (ticket.urgent, ticket.kind, ticket.check_state) == (True, "major", None)
        assert "119" in says(sent)[0].text
        assert "【紧急】#1" in dms(sent)["boss"]


@pytest.mark.parametrize(
    ("message", "rules", "lift", "gas"),
    [
        ("电梯困人了，有人关在里面", ("safety.lift_trapped",), True, False),
        ("部lift坏咗，有人困喺入面", ("test.scripted",), True, False),
        ("2单元楼道有好浓的煤气味", ("safety.gas",), False, True),
        ("楼下着火了，好大烟", ("safety.fire",), False, False),
    ],
)
async def test_urgent_reports_get_the_lines_that_apply(
    grid: GridChat, message: str, rules: tuple[str, ...], lift: bool, gas: bool
) -> None:
    grid.decide(message, urgent=True, rules=rules)
    [ack] = says(await grid.post("r-luo", message, name="罗姨"))
    assert "119" in ack.text
    assert "110" in ack.text
    assert ("96333" in ack.text) is lift
    assert ("96777" in ack.text) is gas
    assert {"lixingshan", *GRID_ABOVE} <= set(dms(grid.adapter.sent)), "urgent: every level is told"


async def test_a_resident_crying_urgent_is_still_a_report(grid: GridChat) -> None:
    report = grid.decide("紧急 3栋电梯有人困住了", urgent=True, rules=("safety.lift_trapped",))
    sent = await grid.post("r-lin", report)
    assert "已记录 #1" in text(sent)
    assert "96333" in text(sent)


async def test_a_lift_check_confirmed_gives_the_lift_line(grid: GridChat) -> None:
    lift = grid.decide("电梯里好像有人在喊，按铃也没人应，不知道是不是困住了", check=True, rules=("test.scripted",))
    await grid.post("r-chen", lift, name="陈生")
    [announcement] = says(await grid.post("lixingshan", "确认紧急 #1"))
    assert "96333" in announcement.text
    assert "96777" not in announcement.text
