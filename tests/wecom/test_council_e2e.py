"""The council end to end on WeCom: a resident's report in the group (智能机器人), 上会 and 发起表决 by
members one to one (self-built app), ballots in the group, the tally by the group's webhook. linli's real
service on the fake WeCom API (tests/wecom/service.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.adapters.simulated import SimulatedAdapter
from bot.adapters.wecom.adapter import AIBOT_PATH, APP_PATH
from handlers.tally import recount
from storage.council_models import Ballot, Vote
from storage.models import Ticket
from tests.wecom import driver as d
from tests.wecom.fake_api import FakeWeCom
from tests.wecom.service import GROUP, GROUP_HOOK, Running, run_service

COMMITTEE, BRANCH = "ChenZhiHua", "MaiGuoQiang"
msgids = count(1)


@pytest.fixture
async def running(fake: FakeWeCom, tmp_path: Path) -> AsyncIterator[Running]:
    fake.members |= {"resident2", "resident3"}
    # 江景花园A座 has a group on the simulated platform too: what goes to every group goes there as well
    async with run_service(fake, tmp_path, extra_adapters=[SimulatedAdapter()]) as service:
        yield service


async def in_group(running: Running, userid: str, text: str) -> None:
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    payload = d.aibot_text(
        f"@邻里小助手\u2005{text}",
        msgid=f"msg-council-{next(msgids)}",
        chatid=GROUP,
        userid=userid,
        response_url=running.fake.new_response_url(),
    )
    await running.callback(AIBOT_PATH, *aibot.aibot(payload))


async def one_to_one(running: Running, userid: str, text: str) -> None:
    app = d.Driver(d.APP_TOKEN, d.APP_AES_KEY, running.fake.corp_id)
    message = d.app_text(text, msg_id=str(8_000_000_000 + next(msgids)), userid=userid, create_time=running.unix_now())
    await running.callback(APP_PATH, *app.app(message))


def last_answer(running: Running) -> str:
    content: str = running.fake.responses[-1][1]["markdown"]["content"]
    return content


async def test_a_vote_on_wecom_from_report_to_tally(running: Running) -> None:
    fake = running.fake
    await in_group(running, "resident1", "A座楼下想装几个充电桩，电动车在楼道充电好危险")
    async with running.service.store.sessions() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        assert ticket.kind == "major"
        number = ticket.id

    await one_to_one(running, COMMITTEE, f"上会 #{number}")
    assert "已列入党群议事会议题" in fake.texts_to(COMMITTEE)[-1]
    assert any("已提交党群议事会" in p["markdown"]["content"] for p in fake.webhook_posts[GROUP_HOOK])
    assert any("下一步：党支部提议" in t for t in fake.texts_to(BRANCH))  # the estate's branch proposes

    until = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    await one_to_one(running, BRANCH, f"发起表决 #{number} 充电桩安装位置 截止 {until}")
    assert "户表决已发起" in fake.texts_to(BRANCH)[-1]
    await running.service.outbox.drain()
    assert any(p["markdown"]["content"].startswith("【户表决】") for p in fake.webhook_posts[GROUP_HOOK])

    await in_group(running, "resident1", "同意 1201")
    assert last_answer(running) == "<@resident1> 已收到 1201 户的表决，谢谢参与！"
    await in_group(running, "resident2", "反对 1202")
    await in_group(running, "resident3", "3 1202")
    assert last_answer(running) == "<@resident3> 1202 户已表决过，以这次为准，谢谢！"
    await in_group(running, "resident2", f"表决结果 #{number}")
    assert "已参加 2 户；同意 1 户，反对 0 户，弃权 1 户" in last_answer(running)

    async with running.service.store.sessions.begin() as session:
        await session.execute(update(Vote).values(deadline=datetime.now(UTC) - timedelta(seconds=1)))
    before = len(fake.webhook_posts[GROUP_HOOK])
    await running.service.scheduler.run("close_due_votes")
    await running.service.outbox.drain()
    [tally] = [p["markdown"]["content"] for p in fake.webhook_posts[GROUP_HOOK][before:]]
    assert tally.startswith(
        f"【表决结果】#{number}「充电桩安装位置」已截止：已参加 2 户；同意 1 户，反对 0 户，弃权 1 户。"
    )
    assert tally.endswith("表决未通过。")  # one of two is not more than half
    async with running.service.store.sessions() as session:
        vote = await session.scalar(select(Vote))
        assert vote is not None
        assert vote.result == (await recount(session, vote)).as_json()
        households = [b.household_id for b in await session.scalars(select(Ballot).order_by(Ballot.id))]
    assert households == ["jjhy-a:1201", "jjhy-a:1202", "jjhy-a:1202"]
