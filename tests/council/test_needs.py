"""Monthly needs: the round asks every group once a month; replies in its window become entries of the
需求清单, matched against co-building units' resources; the list, the quarterly summary and the digest."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from handlers.digest import Week, committee_markdown, compute
from handlers.needs import by_domain, counted, needs_list
from storage.council_models import Need, NeedsRound
from storage.models import Ticket
from tests.conftest import SHANGHAI
from tests.council.conftest import Talk, text, to_chat

ASKED = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
"""The default round: the 1st of the month at 10:00."""
BOUND_GROUPS = 10  # every group of the example org, on every platform


async def needs(talk: Talk) -> list[Need]:
    async with talk.service.store.sessions() as session:
        return list(await session.scalars(select(Need).order_by(Need.id)))


async def test_the_round_asks_every_group_once_a_month(talk: Talk) -> None:
    before = await talk.last_outbox_id()
    replies = await talk.run("ask_for_needs", ASKED)
    asked = await talk.queued(before)
    assert len(asked) == BOUND_GROUPS
    assert to_chat(replies, "sim-sdc-3") == [
        "【每月需求征集】时代城3栋业主群的街坊们好！本月有什么需要社区帮忙的？直接在群里说就行（12月4日 10:00前），"
        "我们会整理进需求清单，对接共建单位的资源。"
    ]
    assert await talk.run("ask_for_needs", ASKED + timedelta(minutes=5)) == []
    async with talk.service.store.sessions() as session:
        assert [r.month for r in await session.scalars(select(NeedsRound))] == ["2026-12"]


async def test_replies_in_the_window_become_needs_and_chat_does_not(talk: Talk) -> None:
    await talk.run("ask_for_needs", ASKED)
    talk.clock = ASKED
    replies = await talk.say("sim-sdc-1", "r-zhao", "希望社区多搞啲长者活动，老人家好闷", name="赵伯")
    assert text(replies) == "@赵伯 已记入本月需求清单，谢谢！"
    replies = await talk.say("sim-lxc-5", "r-huo", "屋企宽带成日断线，希望电信上门睇下", name="霍仔")
    assert "已记录 #1" in text(replies)  # a report is still a report, with its ticket
    assert await talk.say("sim-sdc-1", "r-sun", "收到，谢谢楼长", name="孙太") == []
    found = await needs(talk)
    assert [(n.unit_id, n.ticket_id, n.domain) for n in found] == [("sdc-1", None, "其他"), ("lxc-5", 1, "日常生活")]

    # after the window the same words are chat again
    talk.clock = ASKED + timedelta(days=3, minutes=1)
    assert await talk.say("sim-sdc-1", "r-zhao", "希望社区多搞啲长者活动，老人家好闷", name="赵伯") == []
    assert len(await needs(talk)) == 2


async def test_the_list_matches_needs_with_resources_and_counts_the_months_reports(talk: Talk, tmp_path: Path) -> None:
    await talk.say("sim-sdc-3", "r-chen", "6楼走廊灯坏了", name="陈生")  # a report before the round: a need too
    await talk.run("ask_for_needs", ASKED)
    talk.clock = ASKED
    await talk.say("sim-lxc-5", "r-huo", "屋企宽带成日断线，希望电信上门睇下", name="霍仔")
    await talk.say("sim-sdc-1", "r-zhao", "希望社区多搞啲长者活动", name="赵伯")
    env = {"LINLI_DATABASE_URL": talk.service.settings.database_url}
    out = tmp_path / "q4"
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["lists", "--quarter", "2026-Q4", "--out", str(out), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "2026-Q4"
    entries = {(e["source"], e["text"]): e for e in data["entries"]}
    broadband = entries[("need", "屋企宽带成日断线，希望电信上门睇下")]
    assert broadband["matches"] == ["中国电信三水分公司：宽带维修"]
    assert broadband["ticket"] == 2
    assert entries[("need", "希望社区多搞啲长者活动")]["matches"] == []
    assert entries[("ticket", "6楼走廊灯坏了")]["ticket"] == 1
    assert len(data["entries"]) == 3  # the broadband ticket stands once, as the need that opened it
    summary = (out / "needs.md").read_text(encoding="utf-8")
    assert summary.startswith("# 北江社区 2026-Q4 需求清单")
    assert "可对接：中国电信三水分公司：宽带维修" in summary
    assert (out / "needs_by_domain.png").read_bytes().startswith(b"\x89PNG")

    # 派单 works on a need's ticket as on any other
    await talk.dm("feng", "派单 #2 中国电信")
    async with talk.service.store.sessions() as session:
        ticket = await session.get(Ticket, 2)
        assert ticket is not None
        assert ticket.co_unit_id == "cu-telecom"


async def test_a_bad_period_is_refused(talk: Talk) -> None:
    env = {"LINLI_DATABASE_URL": talk.service.settings.database_url}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["lists", "--quarter", "2026-Q5"], env=env)
    assert result.exit_code == 2
    assert "2026-Q5" in result.stderr


async def test_the_committees_digest_counts_suggestions_and_the_months_needs(talk: Talk) -> None:
    await talk.run("ask_for_needs", ASKED)
    talk.clock = ASKED
    await talk.say("sim-sdc-1", "r-zhao", "希望社区多搞啲长者活动", name="赵伯")
    await talk.dm("wangayi", "建议 门口加个快递柜", name="王阿姨")
    async with talk.service.store.sessions() as session:
        digest = await compute(session, talk.service.settings, "beijiang", Week.of(2026, 49, SHANGHAI))
    figures = digest.figures()
    # due three days after 1 December and still unanswered when the week ends on the 6th: overdue
    assert figures["suggestions"] == {"received": 1, "answered": 0, "overdue": 1}
    assert figures["needs"] == {"month": "2026-12", "total": 1, "matched": 0, "by_domain": {"文化体育": 1}}
    markdown = committee_markdown(digest)
    assert "## 楼长信箱\n- 本周收到建议 1 条，已回复 0 条；逾期未回复 1 条" in markdown
    assert "## 本月需求（2026年12月）\n- 共 1 条，其中 0 条可对接共建单位资源\n- 文化体育 1 条" in markdown


async def test_the_digests_counts_in_the_database_agree_with_the_list(talk: Talk) -> None:
    await talk.say("sim-sdc-3", "r-chen", "6楼走廊灯坏了", name="陈生")
    await talk.run("ask_for_needs", ASKED)
    talk.clock = ASKED
    await talk.say("sim-lxc-5", "r-huo", "屋企WIFI成日断线，希望电信上门睇下", name="霍仔")
    await talk.say("sim-sdc-1", "r-zhao", "希望社区多搞啲长者活动，老人家好闷", name="赵伯")
    await talk.say("sim-jjhy-a", "r-luo", "2单元楼道有好浓的煤气味", name="罗姨")
    start, end = datetime(2026, 12, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI)
    async with talk.service.store.sessions() as session:
        entries = await needs_list(session, "beijiang", start, end)
        per_domain, matched = await counted(session, "beijiang", start, end)
    assert per_domain == by_domain(entries)
    assert matched == sum(1 for e in entries if e.matches) == 2  # broadband (upper-case WIFI too) and gas
