"""``linli council``: add, record, show, vote, agenda — the same actions as the chat commands, and the
agenda sent to the council's members before each meeting."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner, Result

from bot.cli import main
from config.settings import Settings
from handlers.council import next_meeting
from tests.conftest import SHANGHAI
from tests.council.conftest import Talk, text

LIFT = "5号楼想加装电梯，老人家爬楼梯好辛苦"


async def linli(talk: Talk, *args: str, **env: str) -> Result:
    environment = {"LINLI_DATABASE_URL": talk.service.settings.database_url, **env}
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=environment)


async def show(talk: Talk, number: int) -> dict[str, Any]:
    result = await linli(talk, "council", "show", str(number), "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


async def test_the_command_line_takes_a_ticket_through_the_steps_like_the_chat(talk: Talk) -> None:
    await talk.say("sim-lxc-5", "r-chen", LIFT, name="陈伯")
    added = await linli(talk, "council", "add", "1", "--by", "p-chen")
    assert added.exit_code == 0, added.output
    assert "已列入党群议事会议题" in added.stdout
    # the wrong role is refused with the reason, exit 1, nothing recorded
    refused = await linli(talk, "council", "record", "1", "proposal", "--text", "加装电梯", "--by", "p-chen")
    assert refused.exit_code == 1
    assert "须由小区党支部书记记录" in refused.stderr
    done = await linli(talk, "council", "record", "1", "proposal", "--text", "加装电梯", "--by", "p-lu")
    assert done.exit_code == 0, done.output
    shown = await show(talk, 1)
    assert (shown["stage"], shown["next"], shown["progress"]) == ("proposal", "consultation", "已提议，待两委会商议")
    assert [(s["stage"], s["by"], s["text"]) for s in shown["steps"]] == [("proposal", "p-lu", "加装电梯")]
    # what the step announces went out through the outbox, as from the chat (the CLI runs on the machine's
    # clock: at night quiet hours hold the announcement until the morning, so look a day on)
    await talk.service.outbox.drain(now=datetime.now(UTC) + timedelta(days=1))
    assert any("已由 卢桂芳 提议" in m.text for m in talk.adapter.sent)
    missing = await linli(talk, "council", "show", "7")
    assert missing.exit_code == 1


async def test_a_vote_is_recounted_from_the_ballots_and_audited_on_request(talk: Talk) -> None:
    await talk.say("sim-lxc-5", "r-chen", LIFT, name="陈伯")
    await talk.dm("chen", "上会 #1")
    await talk.dm("chen", "发起表决 #1 5号楼加装电梯 截止 2026-12-03")
    await talk.say("sim-lxc-5", "r-a", "同意 201")
    await talk.say("sim-lxc-5", "r-a", "反对 201")
    await talk.say("sim-lxc-5", "r-deng", "同意")
    await talk.run("close_due_votes", datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))
    result = await linli(talk, "council", "vote", "1", "--json", "--ballots")
    assert result.exit_code == 0, result.output
    counted = json.loads(result.stdout)
    assert counted["matches_announced"] is True
    assert counted["recount"] == counted["announced"]
    assert (counted["recount"]["agree"], counted["recount"]["oppose"]) == (1, 1)
    assert [(b["household"], b["choice"]) for b in counted["ballots"]] == [
        ("lxc-5:201", "agree"),
        ("lxc-5:201", "oppose"),
        ("lxc-5:101", "agree"),
    ]
    plain = await linli(talk, "council", "vote", "1")
    assert plain.stdout.startswith("【表决结果】#1「5号楼加装电梯」已截止")
    shown = await show(talk, 1)
    assert shown["votes"][0]["announced"] == shown["votes"][0]["recount"]


async def test_the_agenda_shows_each_items_step_and_the_major_tickets_waiting(talk: Talk) -> None:
    await talk.say("sim-lxc-5", "r-chen", LIFT, name="陈伯")
    await talk.say("sim-sdc", "r-ma", "小区东门那边的充电桩什么时候装？好多电动车在楼道充电好危险", name="马姐")
    await talk.dm("chen", "上会 #1")
    await talk.dm("lu", "提议 #1 加装电梯")
    result = await linli(talk, "council", "agenda", "--community", "beijiang", "--json")
    rows = json.loads(result.stdout)
    assert [(r["ticket"], r["item"], r["stage"]) for r in rows] == [(1, True, "proposal"), (2, False, None)]
    before = await talk.last_outbox_id()
    await talk.run("send_council_agenda", datetime(2026, 12, 24, 19, 30, tzinfo=SHANGHAI))
    agenda = {r.recipient: r.text for r in await talk.queued(before)}
    # the council's members: the committee and those the org gives a council role
    assert set(agenda) == {"ChenZhiHua", "HuangMin", "TanLiJuan", "LuGuiFang", "wangayi", "r-deng"}
    assert agenda["ChenZhiHua"].splitlines()[:3] == [
        "【党群议事会议程】北江社区 12月25日 19:30 议事会：",
        "议题 1 件：",
        f"1. #1「{LIFT}」（老西街5号楼，已提议，待两委会商议）",
    ]
    assert "待议大事 1 件：" in agenda["ChenZhiHua"]


def test_the_first_tuesday_of_each_month_is_a_crontab_line() -> None:
    settings = Settings(schedule={"council": {"meeting_cron": "30 19 1-7 * 2"}})
    meeting = next_meeting(settings, datetime(2026, 11, 17, tzinfo=SHANGHAI))
    assert meeting == datetime(2026, 12, 1, 19, 30, tzinfo=SHANGHAI)
    assert next_meeting(settings, meeting + timedelta(minutes=1)) == datetime(2027, 1, 5, 19, 30, tzinfo=SHANGHAI)


async def test_help_shows_the_council_commands_to_the_council_only(talk: Talk) -> None:
    assert "发起表决" in text(await talk.dm("chen", "帮助"))
    assert "决议 #编号" in text(await talk.dm("r-deng", "帮助"))  # a residents' representative
    resident = text(await talk.dm("r-someone", "帮助"))
    assert "同意" in resident
    assert "发起表决" not in resident
