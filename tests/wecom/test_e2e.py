"""End to end: WeCom callbacks through linli's real service (pipeline, database, outbox, HTTP server).

The fake WeCom API stands in for Tencent; callbacks are encrypted by wechatpy and posted to the
service's own HTTP server on 127.0.0.1; the outbox delivers through the WeCom adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.wecom.adapter import AIBOT_PATH, APP_PATH, WeComAdapter
from bot.app import Service, import_org, open_store
from bot.message import IncomingMessage
from bot.pipeline import FeedResult
from config.settings import HttpSettings, Settings
from storage.ticket_repo import TicketRepo
from tests.wecom import driver as d
from tests.wecom.conftest import settings_for
from tests.wecom.fake_api import FakeWeCom

ORG = Path(__file__).resolve().parents[2] / "config" / "example-org.yaml"
GROUP = "wrkSFfCgAAjiangjingA"  # 江景花园A座服务群, leaders 周建国 (ZhouJianGuo) and 吴丽萍 (WuLiPing)


@dataclass
class Running:
    service: Service
    adapter: WeComAdapter
    fake: FakeWeCom
    base: str
    results: list[FeedResult]
    changed: asyncio.Condition
    sent: list[object]

    async def post(self, path: str, query: str, body: bytes) -> int:
        async with aiohttp.ClientSession() as http, http.post(f"{self.base}{path}?{query}", data=body) as r:
            return r.status

    async def until(self, done: Callable[[], bool], within: float = 10.0) -> None:
        """Wait (without sleeping) until the pipeline or the outbox has made ``done()`` true."""
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(done)


@pytest.fixture
async def running(fake: FakeWeCom, tmp_path: Path) -> AsyncIterator[Running]:
    fake.members |= {"ZhouJianGuo", "WuLiPing", "MaiGuoQiang", "resident1"}
    fake.webhook_keys.add("hook-jjhy-a")
    wecom = settings_for(fake, webhooks={GROUP: SecretStr("hook-jjhy-a")})
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}",
        org_file=ORG,
        http=HttpSettings(host="127.0.0.1", port=0),
        wecom=wecom,
    )
    changed = asyncio.Condition()
    results: list[FeedResult] = []
    sent: list[object] = []

    def observed(item: object) -> None:
        sent.append(item)
        asyncio.get_running_loop().create_task(_notify(changed))

    async with open_store(settings) as store:
        await import_org(store, ORG)
        adapter = WeComAdapter(wecom)
        service = Service(settings, store, [adapter], observer=observed)

        async def receive(msg: IncomingMessage) -> None:
            results.append(await service.pipeline.feed(msg))
            await _notify(changed)

        service.receive = receive  # type: ignore[method-assign]
        await service.start()
        try:
            yield Running(service, adapter, fake, f"http://127.0.0.1:{service.http_port}", results, changed, sent)
        finally:
            await service.stop()


async def _notify(changed: asyncio.Condition) -> None:
    async with changed:
        changed.notify_all()


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
    assert content.startswith("<@resident1>\n")
    assert f"#{ticket_id}" in content
    leader_texts = running.fake.texts_to("ZhouJianGuo") + running.fake.texts_to("WuLiPing")
    assert any(f"#{ticket_id}" in t for t in leader_texts)

    # A WeCom retry of the same callback changes nothing.
    assert await running.post(AIBOT_PATH, *aibot.aibot(payload)) == 200
    assert len(running.results) == 1
    assert running.service.status()["adapters"]["wecom"]["duplicates"] == 1  # type: ignore[index]


async def test_leader_one_to_one_reaches_the_pipeline(running: Running) -> None:
    """A leader's 1:1 ``接单 #N`` arrives as a direct message. Leader commands are not on main yet
    (no 接单 handler exists), so this asserts the message is stored as a direct message; extend it
    to assert the ticket's state once the commands land."""
    app = d.Driver(d.APP_TOKEN, d.APP_AES_KEY, running.fake.corp_id)
    assert await running.post(APP_PATH, *app.app(d.app_text("接单 #1", userid="ZhouJianGuo"))) == 200
    await running.until(lambda: bool(running.results))
    [result] = running.results
    assert result.stored
    assert result.ticket_ids == ()


async def test_forged_callback_through_the_service_is_refused(running: Running) -> None:
    aibot = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "")
    query, body = aibot.aibot(d.aibot_text("@bot 假的", chatid=GROUP))
    assert await running.post(AIBOT_PATH, query.replace("msg_signature=", "msg_signature=f"), body) == 403
    assert running.results == []
    async with aiohttp.ClientSession() as http, http.get(f"{running.base}/healthz") as r:
        health = await r.json()
    assert health["adapters"]["wecom"]["refused"] == 1


def test_linli_run_starts_wecom_when_configured(fake: FakeWeCom) -> None:
    from bot.app import default_adapters

    assert [a.platform for a in default_adapters(Settings(wecom=settings_for(fake)))] == ["wecom"]
    assert [a.platform for a in default_adapters(Settings())] == ["sim"]
