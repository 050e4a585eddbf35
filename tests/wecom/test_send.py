"""Sending through the fake WeCom API: tokens, budgets, response_url, webhooks, images and errors."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.adapters.base import AdapterStartError, SendError
from bot.adapters.ratelimit import SlidingWindowLimiter, Window
from bot.adapters.textsplit import split_text
from bot.adapters.wecom.adapter import AIBOT_PATH, WeComAdapter
from bot.adapters.wecom.client import WeComSendError
from bot.adapters.wecom.webhook import MARKDOWN_LIMIT, markdown_payloads
from bot.message import DIRECT_CHAT, DirectMessage, Say, SendImage
from tests.wecom import driver as d
from tests.wecom.conftest import Harness, StartHarness, settings_for
from tests.wecom.fake_api import FakeClock, FakeWeCom

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


async def _mention(h: Harness, text: str = "@bot 3栋电梯坏咗", msgid: str = "m1", **kw: str) -> str:
    url = h.fake.new_response_url()
    assert await h.post(AIBOT_PATH, *h.aibot.aibot(d.aibot_text(text, msgid=msgid, response_url=url, **kw))) == 200
    await h.settle()
    return url


# -- app messages and the access token -------------------------------------------------------------


async def test_direct_message_is_an_app_message(harness: Harness) -> None:
    await harness.adapter.send(DirectMessage("wecom", "leader1", "新工单 #3：3栋电梯故障"))
    assert harness.fake.texts_to("leader1") == ["新工单 #3：3栋电梯故障"]
    assert harness.fake.gettoken_calls == 1  # fetched at start, reused


@pytest.mark.parametrize("how", ["expire", "revoke"])
async def test_token_is_refetched_once_on_40014_or_42001(harness: Harness, how: str) -> None:
    getattr(harness.fake, f"{how}_tokens")()
    await harness.adapter.send(DirectMessage("wecom", "leader1", "提醒"))
    assert harness.fake.texts_to("leader1") == ["提醒"]
    assert harness.fake.gettoken_calls == 2


async def test_token_expiry_by_the_clock_refreshes_before_sending(harness: Harness) -> None:
    harness.clock.advance(7200)
    await harness.adapter.send(DirectMessage("wecom", "leader1", "x"))
    assert harness.fake.gettoken_calls == 2
    assert harness.fake.texts_to("leader1") == ["x"]


async def test_refresh_is_single_flight(harness: Harness) -> None:
    harness.fake.revoke_tokens()
    users = ["leader1", "leader2", "resident1", "resident2"]
    await asyncio.gather(*(harness.adapter.send(DirectMessage("wecom", u, f"hi {i}")) for i, u in enumerate(users * 3)))
    assert harness.fake.gettoken_calls == 2
    assert len(harness.fake.delivered) == 12


async def test_long_text_is_split_within_2048_bytes(harness: Harness) -> None:
    text = "\n".join(f"第{i}条：3栋2单元楼道灯不亮，已报修。" for i in range(150))
    await harness.adapter.send(DirectMessage("wecom", "leader1", text))
    parts = harness.fake.texts_to("leader1")
    assert len(parts) > 1
    assert all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text


async def test_wrong_secret_is_a_start_error(fake: FakeWeCom, clock: FakeClock) -> None:
    adapter = WeComAdapter(settings_for(fake, secret=SecretStr("wrong")), clock=clock, sleep=clock.sleep)
    with pytest.raises(AdapterStartError, match="errcode 40001"):
        await adapter.start(lambda msg: asyncio.sleep(0))
    await adapter.stop()


def test_bad_aes_key_is_a_start_error(fake: FakeWeCom) -> None:
    with pytest.raises(AdapterStartError, match="-40004 IllegalAesKey"):
        WeComAdapter(settings_for(fake, aes_key=SecretStr("short")))


async def test_unknown_member_is_a_permanent_error(harness: Harness) -> None:
    with pytest.raises(WeComSendError) as exc:
        await harness.adapter.send(DirectMessage("wecom", "nobody", "hi"))
    assert exc.value.permanent
    assert "81013" in str(exc.value)


# -- per-member budget -----------------------------------------------------------------------------


async def test_fake_drops_the_31st_message_silently(fake: FakeWeCom) -> None:
    """The fake is faithful: WeCom answers 0 and drops. This is why linli keeps its own budget."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.base_url}/cgi-bin/gettoken?corpid={fake.corp_id}&corpsecret={fake.secret}") as r:
            token = (await r.json())["access_token"]
        for i in range(31):
            payload = {
                "touser": "leader1",
                "msgtype": "text",
                "agentid": fake.agent_id,
                "text": {"content": str(i)},
            }
            async with http.post(f"{fake.base_url}/cgi-bin/message/send?access_token={token}", json=payload) as r:
                assert (await r.json())["errcode"] == 0
    assert len(fake.delivered) == 30
    assert len(fake.dropped) == 1


async def test_member_budget_raises_with_a_retry_hint_instead_of_losing(start_harness: StartHarness) -> None:
    h = await start_harness(max_send_wait_seconds=0)
    for i in range(30):
        await h.adapter.send(DirectMessage("wecom", "leader1", f"#{i}"))
    with pytest.raises(SendError) as exc:
        await h.adapter.send(DirectMessage("wecom", "leader1", "#30"))
    assert exc.value.retry_after == pytest.approx(60, abs=1)
    assert not exc.value.permanent
    await h.adapter.send(DirectMessage("wecom", "leader2", "other member is not limited"))
    h.clock.advance(60)
    await h.adapter.send(DirectMessage("wecom", "leader1", "#30"))
    assert len(h.fake.texts_to("leader1")) == 31
    assert h.fake.dropped == []


async def test_member_budget_waits_when_the_wait_is_short(start_harness: StartHarness) -> None:
    h = await start_harness(max_send_wait_seconds=90)
    start = h.clock()
    for i in range(31):
        await h.adapter.send(DirectMessage("wecom", "leader1", f"#{i}"))
    assert h.clock() - start == pytest.approx(60)
    assert len(h.fake.texts_to("leader1")) == 31
    assert h.fake.dropped == []


def test_hourly_budget() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter([Window(30, 60), Window(1000, 3600)], clock)
    sent = 0
    while limiter.try_reserve("u") == 0:
        sent += 1
        if sent % 30 == 0:
            clock.advance(61)
    assert sent == 1000
    assert 0 < limiter.wait_time("u") <= 3600
    clock.advance(3600)
    assert limiter.try_reserve("u") == 0


def test_limiter_reserves_all_or_nothing() -> None:
    limiter = SlidingWindowLimiter([Window(3, 60)], FakeClock())
    assert limiter.try_reserve("k", 2) == 0
    assert limiter.try_reserve("k", 2) > 0
    assert limiter.try_reserve("k", 1) == 0
    assert limiter.wait_time("k", 4) == float("inf")


# -- response_url and fallbacks --------------------------------------------------------------------


async def test_reply_to_a_mention_uses_response_url_once(harness: Harness) -> None:
    await _mention(harness)
    await harness.adapter.send(Say("wecom", "wrchat3dong", "已派单 #1 给3栋楼长", mentions=("resident1",)))
    [(_, body)] = harness.fake.responses
    assert body == {"msgtype": "markdown", "markdown": {"content": "<@resident1>\n已派单 #1 给3栋楼长"}}
    # used once: the next message to the group goes by the group's webhook
    await harness.adapter.send(Say("wecom", "wrchat3dong", "温馨提示"))
    assert len(harness.fake.responses) == 1
    assert harness.fake.webhook_posts["hook-3dong"] == [{"msgtype": "markdown", "markdown": {"content": "温馨提示"}}]


async def test_expired_response_url_falls_back(harness: Harness) -> None:
    await _mention(harness)
    harness.clock.advance(3600)
    await harness.adapter.send(Say("wecom", "wrchat3dong", "迟到的回复"))
    assert harness.fake.responses == []
    assert len(harness.fake.webhook_posts["hook-3dong"]) == 1


async def test_refused_response_url_falls_back_to_an_app_message(harness: Harness) -> None:
    await _mention(harness, chatid="wrnohook", userid="resident2")
    harness.fake.response_codes.clear()  # WeCom already considers it used
    await harness.adapter.send(Say("wecom", "wrnohook", "收到，已派单"))
    assert harness.fake.responses == []
    assert harness.fake.texts_to("resident2") == ["收到，已派单"]
    assert harness.adapter.health()["fallbacks"] == 2


async def test_single_chat_reply_uses_that_chats_response_url(harness: Harness) -> None:
    await _mention(harness, text="接单 #5", chattype="single", userid="leader1")
    await harness.adapter.send(DirectMessage("wecom", "leader1", "已接单 #5"))
    assert harness.fake.responses[0][1]["markdown"]["content"] == "已接单 #5"
    await harness.adapter.send(DirectMessage("wecom", "leader1", "提醒：#5 明天到期"))
    assert harness.fake.texts_to("leader1") == ["提醒：#5 明天到期"]


async def test_direct_say_goes_to_mentions(harness: Harness) -> None:
    await harness.adapter.send(Say("wecom", DIRECT_CHAT, "请处理", mentions=("leader1", "leader2")))
    assert harness.fake.texts_to("leader1") == harness.fake.texts_to("leader2") == ["请处理"]
    with pytest.raises(WeComSendError) as exc:
        await harness.adapter.send(Say("wecom", DIRECT_CHAT, "nobody"))
    assert exc.value.permanent


async def test_unreachable_group_is_a_permanent_error(harness: Harness) -> None:
    with pytest.raises(WeComSendError) as exc:
        await harness.adapter.send(Say("wecom", "wrnohook", "hello"))
    assert exc.value.permanent


# -- webhooks --------------------------------------------------------------------------------------


async def test_webhook_markdown_with_mentions(harness: Harness) -> None:
    await harness.adapter.send(Say("wecom", "wrchat3dong", "本周周报", mentions=("leader1", "leader2")))
    [post] = harness.fake.webhook_posts["hook-3dong"]
    assert post["markdown"]["content"] == "<@leader1> <@leader2>\n本周周报"


async def test_long_digest_is_split_at_paragraphs(harness: Harness) -> None:
    sections = [f"## 第{i}周 3栋\n" + "\n".join(f"- 工单 #{i}{j}：楼道灯已修复" for j in range(20)) for i in range(30)]
    digest = "\n\n".join(sections)
    assert len(digest.encode()) > 3 * MARKDOWN_LIMIT
    await harness.adapter.send(Say("wecom", "wrchat3dong", digest))
    parts = [p["markdown"]["content"] for p in harness.fake.webhook_posts["hook-3dong"]]
    assert len(parts) >= 5
    assert all(len(p.encode()) <= MARKDOWN_LIMIT for p in parts)
    assert all(p.startswith("## ") for p in parts)  # no section torn apart
    assert "\n\n".join(parts) == digest


async def test_webhook_budget_is_20_per_minute(start_harness: StartHarness) -> None:
    h = await start_harness(max_send_wait_seconds=0)
    for i in range(20):
        await h.adapter.send(Say("wecom", "wrchat3dong", f"公告 {i}"))
    with pytest.raises(SendError) as exc:
        await h.adapter.send(Say("wecom", "wrchat3dong", "公告 20"))
    assert exc.value.retry_after is not None
    assert exc.value.retry_after > 0
    assert h.fake.webhook_refused == 0  # linli never provoked 45009
    h.clock.advance(60)
    await h.adapter.send(Say("wecom", "wrchat3dong", "公告 20"))
    assert len(h.fake.webhook_posts["hook-3dong"]) == 21


async def test_removed_robot_is_a_permanent_error(
    start_harness: StartHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = await start_harness(webhooks={"wrchat3dong": SecretStr("hook-removed")})
    with caplog.at_level(logging.ERROR), pytest.raises(WeComSendError) as exc:
        await h.adapter.send(Say("wecom", "wrchat3dong", "hi"))
    assert exc.value.permanent
    assert "errcode 93000" in caplog.text


async def test_image_by_webhook(harness: Harness, tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    await harness.adapter.send(SendImage("wecom", "wrchat3dong", str(chart), caption="本周办结率"))
    caption, image = harness.fake.webhook_posts["hook-3dong"]
    assert caption["markdown"]["content"] == "本周办结率"
    assert base64.b64decode(image["image"]["base64"]) == PNG
    assert image["image"]["md5"] == hashlib.md5(PNG).hexdigest()


@pytest.mark.parametrize("data", [PNG + b"\x00" * (2 * 1024 * 1024), b"GIF89a not allowed"])
async def test_bad_images_are_refused_before_sending(harness: Harness, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with pytest.raises(WeComSendError) as exc:
        await harness.adapter.send(SendImage("wecom", "wrchat3dong", str(path)))
    assert exc.value.permanent
    assert harness.fake.webhook_posts["hook-3dong"] == []


# -- secrets ---------------------------------------------------------------------------------------


async def test_secrets_never_reach_the_logs(start_harness: StartHarness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        h = await start_harness()
        h.fake.revoke_tokens()
        await h.adapter.send(DirectMessage("wecom", "leader1", "x"))
        await h.adapter.send(Say("wecom", "wrchat3dong", "y"))
        await h.post(AIBOT_PATH, "msg_signature=0&timestamp=1&nonce=2", b'{"encrypt":"abc"}')
        health = repr(h.adapter.health())
    # The fake server's own access log shows its URLs; everything linli logs must not.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("aiohttp"))
    assert "wecom started" in ours
    tokens = list(h.fake.tokens)
    for secret in [
        h.fake.secret,
        d.APP_AES_KEY,
        d.AIBOT_AES_KEY,
        d.APP_TOKEN,
        d.AIBOT_TOKEN,
        "hook-3dong",
        *tokens,
    ]:
        assert secret not in ours
        assert secret not in health


# -- splitting -------------------------------------------------------------------------------------


@given(st.text(alphabet=st.sampled_from(list("楼长ab \n#😀")), max_size=3000), st.integers(8, 600))
def test_split_text_properties(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(len(c.encode()) <= limit for c in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_markdown_payloads_reserve_room_for_mentions() -> None:
    text = "a" * MARKDOWN_LIMIT
    payloads = markdown_payloads(text, ("leader1",))
    assert payloads[0]["markdown"]["content"].startswith("<@leader1>\n")
    assert all(len(p["markdown"]["content"].encode()) <= MARKDOWN_LIMIT for p in payloads)


def test_plain_at_prefix_of_a_mentioned_member_becomes_markup_once() -> None:
    """linli's texts begin with ``@name ``; on WeCom the name is the userid, so it turns into ``<@userid>``."""
    [payload] = markdown_payloads("@resident1 #1 已由 吴丽萍 接单，正在处理。", ("resident1",))
    assert payload["markdown"]["content"] == "<@resident1> #1 已由 吴丽萍 接单，正在处理。"
    [payload] = markdown_payloads("@r1 @r2 #2 已办结。", ("r1", "r2"))
    assert payload["markdown"]["content"] == "<@r1> <@r2> #2 已办结。"
    # a mention the text does not start with stays on a line of its own; other @-words are left alone
    [payload] = markdown_payloads("@r1 请看 @someone 的留言", ("r1", "r9"))
    assert payload["markdown"]["content"] == "<@r1> <@r9>\n请看 @someone 的留言"
    [payload] = markdown_payloads("@resident10 你好", ("resident1",))
    assert payload["markdown"]["content"] == "<@resident1>\n@resident10 你好"


def test_inline_mentions_still_fit_the_limit() -> None:
    payloads = markdown_payloads("@leader1 " + "楼" * 3000, ("leader1",))
    assert payloads[0]["markdown"]["content"].startswith("<@leader1> 楼")
    assert all(len(p["markdown"]["content"].encode()) <= MARKDOWN_LIMIT for p in payloads)
