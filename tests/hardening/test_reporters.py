"""Several reporters share a ticket: none of them can withdraw or close it for the others, and one family's
several accounts count as one household."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Rating
from tests.hardening.conftest import Desk, texts


async def _shared_ticket(two: Desk) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了", name="一号")
    await two.say("sim-sdc-3", "r-2", "六楼走廊灯还是不亮", name="二号")
    await two.say("sim-sdc-3", "r-3", "6楼走廊的灯坏了好几天", name="三号")


async def test_a_co_reporter_withdraws_only_themself(two: Desk) -> None:
    await _shared_ticket(two)
    assert (await two.ticket(1)).kind == "major"
    replies = await two.say("sim-sdc-3", "r-2", "撤销 #1", name="二号")
    ticket = await two.ticket(1)
    assert ticket.state == "assigned"
    assert [r.sender_id for r in ticket.reporters] == ["r-1", "r-3"]
    assert "不再" in texts(replies)
    assert ("unreport", "assigned") in await two.events(1)


async def test_the_last_reporter_withdraws_the_ticket(two: Desk) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")
    await two.say("sim-sdc-3", "r-2", "六楼走廊灯还是不亮")
    await two.say("sim-sdc-3", "r-1", "撤销 #1")
    assert (await two.ticket(1)).state == "assigned"
    await two.say("sim-sdc-3", "r-2", "撤销 #1")
    assert (await two.ticket(1)).state == "withdrawn"


async def test_one_good_rating_does_not_close_a_ticket_several_households_reported(two: Desk) -> None:
    await _shared_ticket(two)
    await two.say("sim-sdc-3", "lixingshan", "办结 #1 已换灯管")
    replies = await two.say("sim-sdc-3", "r-1", "评价 #1 满意")
    assert (await two.ticket(1)).state == "resolved"
    assert "已记录" in texts(replies)
    await two.say("sim-sdc-3", "r-2", "评价 #1 5")
    assert (await two.ticket(1)).state == "closed"  # two of three households: the majority
    async with two.service.store.sessions() as session:
        assert len((await session.scalars(select(Rating))).all()) == 2


async def test_one_reporter_rating_twice_counts_once(two: Desk) -> None:
    await _shared_ticket(two)
    await two.say("sim-sdc-3", "lixingshan", "办结 #1 已换灯管")
    await two.say("sim-sdc-3", "r-1", "评价 #1 满意")
    await two.say("sim-sdc-3", "r-1", "评价 #1 5")
    assert (await two.ticket(1)).state == "resolved"


async def test_a_bad_rating_from_any_reporter_reopens(two: Desk) -> None:
    await _shared_ticket(two)
    await two.say("sim-sdc-3", "lixingshan", "办结 #1 已换灯管")
    await two.say("sim-sdc-3", "r-3", "评价 #1 不满意")
    assert (await two.ticket(1)).state == "reopened"


async def test_one_family_with_several_accounts_is_one_household(two: Desk) -> None:
    await two.say("sim-sdc-3", "wang", "6楼走廊灯坏了")
    await two.say("sim-sdc-3", "wang-son", "六楼走廊灯还是不亮")
    await two.say("sim-sdc-3", "wang-2", "6楼走廊的灯坏了好几天")
    ticket = await two.ticket(1)
    assert len(ticket.reporters) == 3
    assert ticket.kind == "trivial"  # one household (3栋1502), not three


async def test_withdraw_answers_the_same_for_a_missing_ticket_and_someone_elses(two: Desk) -> None:
    await two.say("sim-sdc-3", "r-1", "6楼走廊灯坏了")
    someone_elses = texts(await two.say("sim-sdc-3", "r-2", "撤销 #1"))
    missing = texts(await two.say("sim-sdc-3", "r-2", "撤销 #2"))
    assert someone_elses.replace("#1", "#N") == missing.replace("#2", "#N")
    assert (await two.ticket(1)).state == "assigned"
