"""End to end: WeCom callbacks through linli's real service (pipeline, database, outbox, HTTP server).

The fake WeCom API stands in for Tencent; callbacks are encrypted by wechatpy and posted to the
service's own HTTP server on 127.0.0.1; the outbox delivers through the WeCom adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.wecom.adapter import AIBOT_PATH, APP_PATH
from bot.pipeline import FeedResult
from config.settings import Settings
from storage.models import TicketState
from storage.ticket_repo import TicketRepo
from tests.wecom import driver as d
from tests.wecom.conftest import settings_for
from tests.wecom.fake_api import FakeWeCom
from tests.wecom.fake_ws import FakeGateway
from tests.wecom.service import GROUP, Running, run_service


@pytest.fixture
async def running(fake: FakeWeCom, tmp_path: Path) -> AsyncIterator[Running]:
    async with run_service(fake, tmp_path) as service:
        yield service


async def test_resident_mention_in_a_group_becomes_a_ticket(running: Running) -> None:
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    url = running.fake.new_response_url()
    payload = d.aibot_text(
        "@邻里小助手\u2005A座3楼楼道灯坏了，好几天没人修", chatid=GROUP, userid="resident1", response_url=url
    )
    assert await running.post(AIBOT_PATH, *aibot.aibot(payload)) == 200
    await running.until(lambda: bool(running.results))
    [result] = running.results
    assert result.stored
    assert len(result.ticket_ids) == 1
    ticket_id = result.ticket_ids[0]
    async with running.service.store.sessions() as session:
        ticket = await TicketRepo(session).get(ticket_id)
    assert ticket is not None
    assert (ticket.platform, ticket.chat_id, ticket.unit_id) == ("wecom", GROUP, "jjhy-a")

    # The acknowledgement answers the resident through the one-time response_url, mentioning them;
    # the building leader gets the task as an app message.
    await running.until(lambda: len(running.sent) >= len(result.outbox_ids))
    [(_, reply)] = running.fake.responses
    content = reply["markdown"]["content"]
    assert content.startswith("<@resident1> 已记录")
    assert "@resident1 " not in content
    assert f"#{ticket_id}" in content
    leader_texts = running.fake.texts_to("ZhouJianGuo") + running.fake.texts_to("WuLiPing")
    assert any(f"#{ticket_id}" in t for t in leader_texts)

    # A WeCom retry of the same callback changes nothing.
    assert await running.post(AIBOT_PATH, *aibot.aibot(payload)) == 200
    assert len(running.results) == 1
    assert running.service.status()["adapters"]["wecom"]["duplicates"] == 1  # type: ignore[index]


async def test_the_closed_loop_on_wecom(running: Running) -> None:
    """点单 in the group → 接单 and 办结 by the leader one to one through the app → 评价 by the resident."""
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    app = d.Driver(d.APP_TOKEN, d.APP_AES_KEY, running.fake.corp_id)
    fake = running.fake

    # 点单: the resident @-mentions the bot in the building group.
    report = d.aibot_text(
        "@邻里小助手\u2005A座5楼楼道灯坏了，好几天没人修",
        msgid="msg-report",
        chatid=GROUP,
        userid="resident1",
        response_url=fake.new_response_url(),
    )
    result = await running.callback(AIBOT_PATH, *aibot.aibot(report))
    [ticket_id] = result.ticket_ids
    ticket = await running.ticket(ticket_id)
    leader = {"p-zhou": "ZhouJianGuo", "p-wu": "WuLiPing"}[ticket.assignee_id or ""]
    [(_, ack)] = fake.responses
    assert ack["markdown"]["content"].startswith(f"<@resident1> 已记录 #{ticket_id}")
    [task] = [t for t in fake.texts_to(leader) if f"#{ticket_id}" in t]
    assert f"接单 #{ticket_id}" in task

    # 接单: the leader answers the app one to one. The ticket is accepted, the group is told through
    # its robot webhook (the response_url was used up by the acknowledgement) mentioning the
    # resident, and the leader is answered by app message.
    texts_before = len(fake.texts_to(leader))
    accept = d.app_text(f"接单 #{ticket_id}", msg_id="7000000001", userid=leader, create_time=running.unix_now())
    result = await running.callback(APP_PATH, *app.app(accept))
    assert result.ticket_ids == () or result.ticket_ids == (ticket_id,)
    ticket = await running.ticket(ticket_id)
    assert ticket.state == TicketState.ACCEPTED
    assert ticket.accepted_at is not None
    [told] = fake.webhook_posts["hook-jjhy-a"]
    told_text = told["markdown"]["content"]
    assert told_text.startswith(f"<@resident1> #{ticket_id}")
    assert f"#{ticket_id}" in told_text
    assert "接单" in told_text
    [answered] = fake.texts_to(leader)[texts_before:]
    assert f"#{ticket_id}" in answered
    assert "接单" in answered
    assert len(fake.responses) == 1  # the used response_url was not tried again by linli's choice

    # A replayed 接单 (WeCom retries after 5 s without an answer) is answered 200 and changes nothing.
    assert await running.post(APP_PATH, *app.app(accept)) == 200
    await running.service.outbox.drain()
    assert running.adapter.health()["duplicates"] == 1
    assert len(fake.webhook_posts["hook-jjhy-a"]) == 1
    assert len(fake.texts_to(leader)) == texts_before + 1

    # 办结 with a note, again one to one.
    resolve = d.app_text(
        f"办结 #{ticket_id} 已更换灯管", msg_id="7000000002", userid=leader, create_time=running.unix_now()
    )
    await running.callback(APP_PATH, *app.app(resolve))
    ticket = await running.ticket(ticket_id)
    assert ticket.state == TicketState.RESOLVED
    told_text = fake.webhook_posts["hook-jjhy-a"][-1]["markdown"]["content"]
    assert told_text.startswith(f"<@resident1> #{ticket_id}")
    assert "已更换灯管" in told_text
    assert f"评价 #{ticket_id}" in told_text
    assert any("办结" in t and f"#{ticket_id}" in t for t in fake.texts_to(leader)[texts_before + 1 :])

    # 评价: the resident @-mentions the bot again with a fresh response_url; the ticket closes.
    rate = d.aibot_text(
        f"@邻里小助手 评价 #{ticket_id} 满意",
        msgid="msg-rate",
        chatid=GROUP,
        userid="resident1",
        response_url=fake.new_response_url(),
    )
    await running.callback(AIBOT_PATH, *aibot.aibot(rate))
    ticket = await running.ticket(ticket_id)
    assert ticket.state == TicketState.CLOSED
    thanks = fake.responses[-1][1]["markdown"]["content"]
    assert thanks.startswith("<@resident1> 谢谢")
    assert "5 分" in thanks
    assert len(fake.responses) == 2

    # Replaying the resident's first report changes nothing either: no second ticket, no message.
    sent_before = len(running.sent)
    assert await running.post(AIBOT_PATH, *aibot.aibot(report)) == 200
    await running.service.outbox.drain()
    assert len(running.sent) == sent_before
    async with running.service.store.sessions() as session:
        assert [t.id for t in await TicketRepo(session).list()] == [ticket_id]


async def test_leader_command_from_someone_else_is_refused_by_app_message(running: Running) -> None:
    """A member who is not responsible for the ticket is told so one to one; the ticket stays open."""
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    app = d.Driver(d.APP_TOKEN, d.APP_AES_KEY, running.fake.corp_id)
    report = d.aibot_text("@邻里小助手 A座楼道灯坏了", msgid="msg-light", chatid=GROUP, userid="resident1")
    [ticket_id] = (await running.callback(AIBOT_PATH, *aibot.aibot(report))).ticket_ids
    ticket = await running.ticket(ticket_id)
    other = "WuLiPing" if ticket.assignee_id == "p-zhou" else "ZhouJianGuo"
    accept = d.app_text(f"接单 #{ticket_id}", msg_id="7000000009", userid=other, create_time=running.unix_now())
    state = ticket.state
    await running.callback(APP_PATH, *app.app(accept))
    assert (await running.ticket(ticket_id)).state == state
    [refusal] = running.fake.texts_to(other)[-1:]
    assert f"#{ticket_id}" in refusal
    assert "接单" not in [p["markdown"]["content"] for p in running.fake.webhook_posts["hook-jjhy-a"]]


async def test_forged_callback_through_the_service_is_refused(running: Running) -> None:
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    query, body = aibot.aibot(d.aibot_text("@bot 假的", chatid=GROUP))
    assert await running.post(AIBOT_PATH, query.replace("msg_signature=", "msg_signature=f"), body) == 403
    assert running.results == []
    async with aiohttp.ClientSession() as http, http.get(f"{running.admin}/healthz") as r:
        health = await r.json()
    assert health["adapters"]["wecom"]["refused"] == 1


def test_linli_run_starts_wecom_when_configured(fake: FakeWeCom) -> None:
    from bot.app import default_adapters

    assert [a.platform for a in default_adapters(Settings(wecom=settings_for(fake)))] == ["wecom", "open311"]
    assert [a.platform for a in default_adapters(Settings())] == ["sim", "open311"]


async def test_the_loop_over_the_long_connection(fake: FakeWeCom, gateway: FakeGateway, tmp_path: Path) -> None:
    """No public URL: the resident's @-mention and the leader's 接单 arrive over the socket, and both
    are answered over it; the group hears of the acceptance by its webhook."""
    socket: dict[str, Any] = {
        "aibot_token": SecretStr(""),
        "aibot_aes_key": SecretStr(""),
        "token": SecretStr(""),
        "aes_key": SecretStr(""),
        "aibot_id": gateway.bot_id,
        "aibot_secret": SecretStr(gateway.secret),
        "aibot_ws_url": gateway.url,
        "aibot_name": "邻里小助手",
    }
    async with run_service(fake, tmp_path, **socket) as running:
        assert running.service.web_routes() == []  # nothing to expose

        async def over_socket(payload: dict[str, Any]) -> FeedResult:
            before = len(running.results)
            await gateway.push_message(payload)
            await running.until(lambda: len(running.results) > before)
            result = running.results[before]
            await running.until(lambda: set(result.outbox_ids) <= {item.id for item in running.sent})
            return result

        report = d.aibot_text(
            "@邻里小助手 A座5楼楼道灯坏了，好几天没人修", msgid="ws-1", chatid=GROUP, aibotid=gateway.bot_id
        )
        [ticket_id] = (await over_socket(report)).ticket_ids
        [(_, ack)] = gateway.replies
        assert ack["stream"]["content"].startswith(f"<@resident1> 已记录 #{ticket_id}")
        leader = {"p-zhou": "ZhouJianGuo", "p-wu": "WuLiPing"}[(await running.ticket(ticket_id)).assignee_id or ""]
        assert any(f"接单 #{ticket_id}" in t for t in fake.texts_to(leader))

        accept = d.aibot_text(
            f"接单 #{ticket_id}", msgid="ws-2", chattype="single", userid=leader, aibotid=gateway.bot_id
        )
        await over_socket(accept)
        assert (await running.ticket(ticket_id)).state == TicketState.ACCEPTED
        assert gateway.replies[-1][1]["stream"]["content"].startswith(f"#{ticket_id}")
        [told] = fake.webhook_posts["hook-jjhy-a"]
        assert told["markdown"]["content"].startswith(f"<@resident1> #{ticket_id}")

        # The same message delivered again changes nothing.
        await gateway.push_message(accept)
        await running.service.outbox.drain()
        assert len(gateway.replies) == 2
        assert gateway.refusals == []

        async with aiohttp.ClientSession() as http, http.get(f"{running.admin}/healthz") as r:
            health = await r.json()
        assert health["ok"] is True
        assert health["adapters"]["wecom"]["longconn"]["connected"] is True
