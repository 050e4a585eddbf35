"""Household votes as transcripts: one vote per household, by the rules configured, counted at the deadline
from the stored ballots; nobody's choice said back in a group; bad ballots refused politely."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.council import parse_share, share_reached
from handlers import votes
from handlers.tally import Tally, recount, tally
from handlers.votes import parse_deadline
from storage.council_models import Ballot, Vote
from tests.conftest import SHANGHAI
from tests.council.conftest import Talk, text, to_chat, to_person

GROUP = "sim-lxc-5"
LIFT = "5号楼想加装电梯，老人家爬楼梯好辛苦"
DEADLINE = datetime(2026, 12, 4, 0, 0, tzinfo=SHANGHAI)  # 截止 2026-12-03: the end of that day


async def lift_vote(talk: Talk) -> None:
    """#1 on the council, and a household vote on it until the end of 3 December."""
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    await talk.dm("chen", "上会 #1", name="陈志华")
    replies = await talk.dm("lu", "发起表决 #1 5号楼加装电梯 截止 2026-12-03", name="卢桂芳")
    assert text(replies).startswith("#1 的户表决已发起，已在 2 个群通知，12月3日 24:00 截止。")


async def stored_vote(talk: Talk) -> Vote:
    async with talk.service.store.sessions() as session:
        vote = await session.scalar(select(Vote))
        assert vote is not None
        return vote


async def recounted(talk: Talk) -> Tally:
    """The tally from the ballots as stored, read afresh."""
    async with talk.service.store.sessions() as session:
        vote = await session.scalar(select(Vote))
        assert vote is not None
        return await recount(session, vote)


async def test_the_call_to_vote_says_the_rule_and_every_group_of_the_building_hears_it(talk: Talk) -> None:
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    await talk.dm("chen", "上会 #1", name="陈志华")
    before = await talk.last_outbox_id()
    await talk.dm("lu", "发起表决 #1 5号楼加装电梯 截止 2026-12-03", name="卢桂芳")
    calls = [r for r in await talk.queued(before) if r.kind == "say"]
    assert {r.chat_id for r in calls} == {GROUP, "wrkSFfCgAAlaoxijie5"}
    assert calls[0].text == (
        "【户表决】#1「5号楼加装电梯」请各业主户回复“同意”“反对”或“弃权”（也可回 1、2、3），一户一票，"
        "以最后一次为准；也可以私信我表决，个人意见不公开。表决时请注明房号，例如“同意 301”。12月3日 24:00 截止。"
        "通过条件：三分之二以上的业主户参加，且同意户数达全部业主户的三分之二以上。"
    )
    vote = await stored_vote(talk)
    # twelve households listed, one of them a tenant's: eleven owner households may vote on a lift
    assert (vote.listed, vote.eligible, vote.rule["name"], vote.deadline) == (True, 11, "加装电梯", DEADLINE)


async def test_a_vote_needs_a_council_item(talk: Talk) -> None:
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    replies = await talk.dm("chen", "发起表决 #1 加装电梯 截止 2026-12-20")
    assert text(replies) == "#1 还不是议事会议题：请社区党委先回复“上会 #1”。"
    assert "须由社区党委或小区党支部书记发起" in text(await talk.dm("feng", "发起表决 #1 加装电梯"))


async def test_one_vote_per_household_the_last_ballot_counts_and_says_so(talk: Talk) -> None:
    await lift_vote(talk)
    assert text(await talk.say(GROUP, "r-a", "同意 201", name="甲")) == "@甲 已收到 201 户的表决，谢谢参与！"
    # the same household again, from another member: it replaces the first and says so
    assert text(await talk.say(GROUP, "r-a2", "反对 201", name="甲太")) == "@甲太 201 户已表决过，以这次为准，谢谢！"
    assert text(await talk.say(GROUP, "r-b", "1 202", name="乙")) == "@乙 已收到 202 户的表决，谢谢参与！"
    # 邓婆婆 is listed as living in 101: she need not name it
    assert text(await talk.say(GROUP, "r-deng", "同意", name="邓婆婆")) == "@邓婆婆 已收到 101 户的表决，谢谢参与！"
    replies = await talk.say(GROUP, "feng", "表决结果 #1", name="冯伯")
    assert text(replies) == (
        "@冯伯 #1「5号楼加装电梯」表决进展：应参加 11 户，已参加 3 户（27%）；同意 2 户，反对 1 户，弃权 0 户。"
        "12月3日 24:00 截止。"
    )
    async with talk.service.store.sessions() as session:
        ballots = [(b.household_id, b.choice) for b in await session.scalars(select(Ballot).order_by(Ballot.id))]
    assert ballots == [("lxc-5:201", "agree"), ("lxc-5:201", "oppose"), ("lxc-5:202", "agree"), ("lxc-5:101", "agree")]


async def test_a_ballot_in_the_group_never_repeats_the_choice(talk: Talk) -> None:
    await lift_vote(talk)
    for ballot in ("同意 301", "反对 302", "弃权 401", "2 402"):
        said = text(await talk.say(GROUP, "r-x", ballot))
        assert not any(word in said for word in ("同意", "反对", "弃权"))


@pytest.mark.parametrize(
    ("sender", "ballot", "refusal"),
    [
        ("r-c", "同意 602", "抱歉，本次表决只限业主户参加，602 户登记为租户。"),
        ("r-d", "同意 101", "101 户已登记家庭成员，请由登记的家庭成员表决。"),
        ("r-e", "同意 909", "老西街5号楼没有登记 909 户，请核对房号。"),
        ("r-f", "同意", "请注明房号，例如“同意 301”。"),
        ("r-g", "3", "请注明房号，例如“弃权 301”。"),
    ],
)
async def test_a_ballot_that_cannot_count_is_refused_with_the_reason(
    talk: Talk, sender: str, ballot: str, refusal: str
) -> None:
    await lift_vote(talk)
    assert text(await talk.say(GROUP, sender, ballot)) == f"@{sender} {refusal}"
    assert (await recounted(talk)).voted == 0


async def test_outsiders_may_not_vote_by_direct_message_or_from_another_building(talk: Talk) -> None:
    await lift_vote(talk)
    # someone who was never seen in 老西街5号楼's groups
    assert text(await talk.dm("r-out", "同意 #1 301")) == "抱歉，本次表决只限老西街5号楼的住户参加。"
    # a resident of the building may vote privately (her first message in the group shows where she lives)
    await talk.say(GROUP, "r-in", "大家好", name="新街坊")
    assert text(await talk.dm("r-in", "反对 #1 301")) == "已收到 301 户的表决，谢谢参与！"
    # in another building's group the ballot words are just chat
    assert await talk.say("sim-sdc-3", "r-in", "同意 301") == []


async def test_words_after_a_ballot_word_that_are_not_a_room_are_chat(talk: Talk) -> None:
    await lift_vote(talk)
    await talk.say(GROUP, "r-h", "同意 楼上说的")
    assert (await recounted(talk)).voted == 0


async def test_without_a_vote_ballot_words_and_digits_are_ordinary_messages(talk: Talk) -> None:
    assert await talk.say(GROUP, "r-a", "1") == []
    assert await talk.say(GROUP, "r-a", "同意 301") == []
    assert text(await talk.dm("r-a", "同意")) == "目前没有进行中的表决。"


async def test_a_ballot_or_count_for_a_ticket_that_is_not_a_council_item_says_what_to_do(talk: Talk) -> None:
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    assert text(await talk.dm("r-chen", "同意 #1 102")) == "#1 还不是议事会议题：请社区党委先回复“上会 #1”。"
    assert text(await talk.dm("r-chen", "表决结果 #1")) == "#1 还不是议事会议题：请社区党委先回复“上会 #1”。"
    await talk.dm("chen", "上会 #1")
    assert text(await talk.dm("r-chen", "表决结果 #1")) == "#1 目前没有户表决。"
    assert text(await talk.dm("r-chen", "同意 #9 102")) == "没有找到 #9，请核对编号。"


async def test_the_tally_is_announced_at_the_deadline_and_a_recount_gives_the_same(talk: Talk) -> None:
    await lift_vote(talk)
    for number, room in enumerate(("102", "201", "202", "301", "302", "401", "402"), 1):
        await talk.say(GROUP, f"r-{number}", f"同意 {room}")
    await talk.say(GROUP, "r-deng", "1", name="邓婆婆")  # 101
    await talk.say(GROUP, "r-9", "反对 501")
    await talk.say(GROUP, "r-10", "弃权 502")
    late = await talk.say(GROUP, "r-11", "同意 601")  # before the deadline, but see below
    assert "已收到" in text(late)

    # nothing happens before the deadline
    assert await talk.run("close_due_votes", DEADLINE - timedelta(minutes=1)) == []
    announced = await talk.run("close_due_votes", DEADLINE + timedelta(hours=9))
    expected = (
        "【表决结果】#1「5号楼加装电梯」已截止：应参加 11 户，已参加 11 户（100%）；同意 9 户，反对 1 户，弃权 1 户。"
        "通过条件：三分之二以上的业主户参加，且同意户数达全部业主户的三分之二以上，表决通过。"
    )
    assert to_chat(announced, GROUP) == [expected]
    assert to_person(announced, "lu") == [expected]  # whoever started it hears too
    vote = await stored_vote(talk)
    counted = await recounted(talk)
    assert vote.result == counted.as_json()
    assert (counted.agree, counted.oppose, counted.abstain, counted.eligible, counted.passed) == (9, 1, 1, 11, True)
    # once only, however often the job runs
    assert await talk.run("close_due_votes", DEADLINE + timedelta(hours=10)) == []

    # a ballot after the deadline is refused, and changes nothing
    refused = await talk.say(GROUP, "r-12", "反对 601")
    assert text(refused) == "@r-12 抱歉，#1 的表决已于 12月3日 24:00 截止，结果会在群里公布。"
    assert await recounted(talk) == counted


async def test_a_tally_at_night_waits_for_the_morning(talk: Talk) -> None:
    await lift_vote(talk)
    await talk.run("close_due_votes", DEADLINE + timedelta(minutes=5))
    held = [r for r in await talk.queued() if r.text.startswith("【表决结果】")]
    assert held
    assert all(r.not_before == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI) for r in held)


async def test_the_resolution_waits_for_a_running_vote(talk: Talk) -> None:
    await lift_vote(talk)
    for step in ("提议 #1 加装电梯",):
        await talk.dm("lu", step)
    await talk.dm("chen", "商议 #1 同意征求意见")
    await talk.dm("lu", "审议 #1 通过")
    refused = await talk.dm("r-deng", "决议 #1 加装")
    assert text(refused) == "#1 的户表决还在进行（12月3日 24:00 截止），请表决结束后再决议。"


async def test_in_a_building_that_lists_no_households_each_room_named_is_a_household(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-ma", "3栋楼下想装几个充电桩，电动车在楼道充电好危险", name="马姐")
    await talk.dm("chen", "上会 #1")
    replies = await talk.dm("chen", "发起表决 #1 充电桩安装位置 截止 2026-12-05")
    assert "已在 3 个群通知" in text(replies)  # 时代城3栋 on sim, console and WeChat
    vote = await stored_vote(talk)
    # the general rule: every household, more than half of those who vote; no list, so no count of all
    assert (vote.listed, vote.eligible, vote.rule["name"]) == (False, None, "一般事项")
    assert text(await talk.say("sim-sdc-3", "r-1", "同意")) == "@r-1 请注明房号，例如“同意 301”。"
    assert "1502 户" in text(await talk.say("sim-sdc-3", "r-1", "同意 1502"))
    assert "以这次为准" in text(await talk.say("sim-sdc-3", "r-2", "反对 1502"))
    await talk.say("sim-sdc-3", "r-3", "同意 801")
    replies = await talk.run("close_due_votes", datetime(2026, 12, 6, 9, 0, tzinfo=SHANGHAI))
    assert to_chat(replies, "sim-sdc-3") == [
        "【表决结果】#1「充电桩安装位置」已截止：已参加 2 户；同意 1 户，反对 1 户，弃权 0 户。"
        "通过条件：同意户数达参加表决户数的过半数，表决未通过。"
    ]


async def test_owners_only_votes_need_the_households_listed(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-ma", "3栋想加装电梯，大家商量下", name="马姐")
    await talk.dm("chen", "上会 #1")
    replies = await talk.dm("chen", "发起表决 #1 3栋加装电梯")
    assert text(replies) == (
        "时代城3栋还没有在组织文件里登记住户，无法确定哪些是业主户；请先登记住户，再发起只限业主的表决。"
    )
    async with talk.service.store.sessions() as session:
        assert await session.scalar(select(Vote)) is None


async def test_a_deadline_that_cannot_be_read_or_has_passed_is_refused(talk: Talk) -> None:
    await talk.say(GROUP, "r-chen", LIFT, name="陈伯")
    await talk.dm("chen", "上会 #1")
    assert "看不懂" in text(await talk.dm("chen", "发起表决 #1 加装电梯 截止 下个月"))
    assert "已经过了" in text(await talk.dm("chen", "发起表决 #1 加装电梯 截止 2026-11-30"))
    # without one the vote runs the configured number of days, to the end of the last
    await talk.dm("chen", "发起表决 #1 加装电梯")
    assert (await stored_vote(talk)).deadline == datetime(2026, 12, 9, 0, 0, tzinfo=SHANGHAI)
    assert "已有户表决在进行" in text(await talk.dm("chen", "发起表决 #1 再来一次"))


# --- pure ------------------------------------------------------------------------------------------------


RULE = {"turnout": "2/3", "approve": "2/3", "approve_of": "eligible", "text": "…"}


@pytest.mark.parametrize(
    ("agree", "oppose", "abstain", "passed"),
    [(8, 0, 0, True), (7, 1, 0, False), (8, 4, 0, True), (7, 0, 5, False)],
)
def test_two_thirds_of_twelve_households_is_eight_exactly(agree: int, oppose: int, abstain: int, passed: bool) -> None:
    choices = dict.fromkeys((f"h{i}" for i in range(agree)), "agree")
    choices |= dict.fromkeys((f"o{i}" for i in range(oppose)), "oppose")
    choices |= dict.fromkeys((f"a{i}" for i in range(abstain)), "abstain")
    assert tally(choices, 12, RULE).passed is passed


def test_more_than_half_is_strict_and_at_least_is_not() -> None:
    assert parse_share(">1/2") == (Fraction(1, 2), True)
    assert not share_reached(">1/2", 5, 10)
    assert share_reached("1/2", 5, 10)
    assert share_reached(">1/2", 6, 10)
    assert share_reached("0", 0, None)
    assert not share_reached("2/3", 10, None)  # unknown base: a share of it cannot be reached


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-12-20", datetime(2026, 12, 21, 0, 0, tzinfo=SHANGHAI)),
        ("2026-12-20 18:00", datetime(2026, 12, 20, 18, 0, tzinfo=SHANGHAI)),
        ("２０２６－１２－２０", datetime(2026, 12, 21, 0, 0, tzinfo=SHANGHAI)),
        ("12月20日", datetime(2026, 12, 21, 0, 0, tzinfo=SHANGHAI)),
        ("1月5日", datetime(2027, 1, 6, 0, 0, tzinfo=SHANGHAI)),
        ("2026-02-30", None),
        ("下周五", None),
    ],
)
def test_deadlines_as_people_write_them(written: str, expected: datetime | None) -> None:
    assert parse_deadline(written, datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)) == expected


async def test_two_processes_closing_votes_at_once_announce_the_tally_once(
    talk: Talk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process runs the job on its own clock: both may find the same vote due at the same moment."""
    await lift_vote(talk)
    await talk.say(GROUP, "r-1", "同意 102")
    counting = votes.recount

    async def slow_recount(session: AsyncSession, vote: Vote) -> Tally:
        await asyncio.sleep(0.5)  # both runs have read the vote as due before either writes
        return await counting(session, vote)

    monkeypatch.setattr(votes, "recount", slow_recount)
    at = DEADLINE + timedelta(hours=9)
    before = len(talk.adapter.sent)
    await asyncio.gather(*(talk.service.scheduler.run("close_due_votes", at) for _ in range(2)))
    await talk.service.outbox.drain(now=at)
    announced = [m for m in to_chat(talk.adapter.sent[before:], GROUP) if m.startswith("【表决结果】")]
    assert len(announced) == 1


async def test_whether_a_voter_wrote_in_the_building_is_looked_up_by_the_voter_not_by_the_groups(
    talk: Talk,
) -> None:
    """An outsider's ballot by direct message asks whether they ever wrote in the building's groups: that
    read goes through the voter's own messages (an index on the sender), not through every message ever
    written in those groups, which grows with history."""
    await lift_vote(talk)
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "FROM messages JOIN chat_groups" in " ".join(statement.split()):
            seen.append((statement, parameters))

    engine = talk.service.store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert text(await talk.dm("r-out", "同意 #1 301")) == "抱歉，本次表决只限老西街5号楼的住户参加。"
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    [(statement, parameters)] = seen
    async with talk.service.store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            raw = (await conn.get_raw_connection()).driver_connection
            rows = await raw.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plan = [str(row[-1]) for row in rows]
            on_messages = [step for step in plan if " messages " in f"{step} "]
            assert on_messages, plan
            assert all("sender_id=?" in step for step in on_messages), plan
        else:
            await conn.exec_driver_sql("SET enable_seqscan = off")
            explained = await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = explained.scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            conditions = [
                cond
                for node in nodes(plan[0]["Plan"])
                if node.get("Relation Name") == "messages"
                for cond in [node.get("Index Cond", "")]
            ]
            assert conditions, plan
            assert all("sender_id" in cond for cond in conditions), plan


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)
