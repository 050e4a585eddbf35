"""Callbacks against the real aiohttp routes, bodies encrypted by wechatpy or taken from public vectors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from urllib.parse import quote, urlencode

import pytest
from pydantic import SecretStr

from bot.adapters.wecom.adapter import AIBOT_PATH, APP_PATH
from bot.adapters.wecom.callback import SeenIds, strip_mention
from bot.adapters.wecom.crypto import compute_signature
from bot.message import DIRECT_CHAT
from tests.wecom import driver as d
from tests.wecom import vectors as v
from tests.wecom.conftest import NOW, Harness, StartHarness


async def test_aibot_url_verification_answers_the_bare_echostr(harness: Harness) -> None:
    query, echo = harness.aibot.verify("1234567890123456789")
    resp = await harness.client.get(f"{AIBOT_PATH}?{query}")
    assert resp.status == 200
    assert await resp.read() == echo.encode()


async def test_app_url_verification_with_the_public_vector(start_harness: StartHarness) -> None:
    h = await start_harness(
        corp_id=v.CORP_ID, secret=SecretStr(""), token=SecretStr(v.TOKEN), aes_key=SecretStr(v.AES_KEY)
    )
    params = {"msg_signature": v.V4_SIGNATURE, "timestamp": v.V4_TIMESTAMP, "nonce": v.V4_NONCE}
    encoded = urlencode({**params, "echostr": v.V4_ECHOSTR})
    resp = await h.client.get(f"{APP_PATH}?{encoded}")
    assert (resp.status, await resp.read()) == (200, v.V4_PLAIN)
    # Some proxies pass "+" unescaped, which decodes to a space; base64 has none, so it is restored.
    raw = urlencode(params) + "&echostr=" + quote(v.V4_ECHOSTR, safe="+/=")
    resp = await h.client.get(f"{APP_PATH}?{raw}")
    assert (resp.status, await resp.read()) == (200, v.V4_PLAIN)
    bad = urlencode({**params, "nonce": v.V4_BAD_NONCE, "echostr": v.V4_ECHOSTR})
    resp = await h.client.get(f"{APP_PATH}?{bad}")
    assert resp.status == 403


async def test_app_message_from_the_public_vector(start_harness: StartHarness) -> None:
    h = await start_harness(
        corp_id=v.CORP_ID,
        agent_id=1,
        secret=SecretStr(""),
        token=SecretStr(v.TOKEN),
        aes_key=SecretStr(v.AES_KEY),
        wall=lambda: float(v.V5_TIMESTAMP) + 60,  # the vector was signed in 2014
    )
    query = urlencode({"msg_signature": v.V5_SIGNATURE, "timestamp": v.V5_TIMESTAMP, "nonce": v.V5_NONCE})
    assert await h.post(APP_PATH, query, v.V5_XML.encode()) == 200
    await h.settle()
    [msg] = h.feed.messages
    assert (msg.platform, msg.chat_id, msg.sender_id, msg.text) == ("wecom", DIRECT_CHAT, "messense", "test")
    assert msg.message_id == "app:4363689963896700987"
    assert msg.time.timestamp() == 1411525903
    assert msg.is_direct


async def test_group_mention_becomes_a_group_message(harness: Harness) -> None:
    payload = d.aibot_text("@邻里小助手\u20053栋电梯坏咗，有人困住", response_url=harness.fake.new_response_url())
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(payload)) == 200
    await harness.settle()
    [msg] = harness.feed.messages
    assert msg.chat_id == "wrchat3dong"
    assert msg.text == "3栋电梯坏咗，有人困住"
    assert msg.sender_id == "resident1"
    assert msg.message_id == "aibot:CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI="
    assert msg.time == NOW
    assert harness.adapter.health()["pending_replies"] == 1


async def test_single_chat_becomes_a_direct_message(harness: Harness) -> None:
    payload = d.aibot_text("接单 #12", chattype="single", userid="leader1", msgid="m-single")
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(payload)) == 200
    await harness.settle()
    [msg] = harness.feed.messages
    assert (msg.chat_id, msg.sender_id, msg.text) == (DIRECT_CHAT, "leader1", "接单 #12")


async def test_app_one_to_one_from_wechatpy_ciphertext(harness: Harness) -> None:
    assert await harness.post(APP_PATH, *harness.app.app(d.app_text("办结 #7"))) == 200
    await harness.settle()
    [msg] = harness.feed.messages
    assert (msg.chat_id, msg.sender_id, msg.text) == (DIRECT_CHAT, "leader1", "办结 #7")


async def test_a_store_slower_than_the_answer_is_503_and_the_retry_finds_it(start_harness: StartHarness) -> None:
    """200 means stored (issue 13): a store still running when the answer is due gets 503, WeCom retries."""
    h = await start_harness(callback_store_seconds=0.05)
    h.feed.gate = asyncio.Event()
    query, body = h.aibot.aibot(d.aibot_text("@bot 漏水", msgid="slow-1"))
    assert await h.post(AIBOT_PATH, query, body) == 503
    assert h.feed.messages == []
    assert h.adapter.health()["tasks"] == 1  # the store goes on
    h.feed.gate.set()
    await h.settle()
    assert await h.post(AIBOT_PATH, query, body) == 200  # WeCom's retry
    assert len(h.feed.messages) == 1
    assert h.adapter.health()["tasks"] == 0


async def test_retried_and_replayed_callbacks_change_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    query, body = harness.aibot.aibot(d.aibot_text("@bot 冇水", msgid="dup-1"))
    retry = harness.aibot.aibot(d.aibot_text("@bot 冇水", msgid="dup-1"))  # a WeCom retry: new nonce
    with caplog.at_level(logging.INFO):
        assert await harness.post(AIBOT_PATH, query, body) == 200
        assert await harness.post(AIBOT_PATH, query, body) == 200  # replay of the same request
        assert await harness.post(AIBOT_PATH, *retry) == 200
    await harness.settle()
    assert len(harness.feed.messages) == 1
    assert harness.adapter.health()["duplicates"] == 2
    assert "duplicate aibot:dup-1" in caplog.text


async def test_forged_signature_is_403_and_logged(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    query, body = harness.aibot.aibot(d.aibot_text("@bot 假的"))
    forged = query.replace("msg_signature=", "msg_signature=0")
    with caplog.at_level(logging.WARNING):
        assert await harness.post(AIBOT_PATH, forged, body) == 403
        assert await harness.post(AIBOT_PATH, "timestamp=1&nonce=2", body) == 403
    assert "-40001 ValidateSignature_Error" in caplog.text
    assert harness.feed.messages == []


def _signed(token: str, encrypt: str) -> str:
    sig = compute_signature(token, "1700000000", "n1", encrypt)
    return urlencode({"msg_signature": sig, "timestamp": "1700000000", "nonce": "n1"})


async def test_wrong_receive_id_is_400_with_its_code(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    corp_driver = d.Driver(d.AIBOT_TOKEN, d.AIBOT_AES_KEY, "wwsomecorp")
    with caplog.at_level(logging.WARNING):
        assert await harness.post(AIBOT_PATH, *corp_driver.aibot(d.aibot_text("@bot hi"))) == 400
    assert "-40005 ValidateCorpid_Error" in caplog.text
    assert harness.feed.messages == []


@pytest.mark.parametrize(
    ("encrypt", "code"),
    [
        ("not*base64", "-40010 DecodeBase64_Error"),
        (base64.b64encode(b"x" * 20).decode(), "-40007 DecryptAES_Error"),
    ],
)
async def test_undecryptable_ciphertext_is_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, encrypt: str, code: str
) -> None:
    body = json.dumps({"encrypt": encrypt}).encode()
    with caplog.at_level(logging.WARNING):
        assert await harness.post(AIBOT_PATH, _signed(d.AIBOT_TOKEN, encrypt), body) == 400
    assert code in caplog.text


async def test_truncated_ciphertext_is_400(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    _, body = harness.aibot.aibot(d.aibot_text("@bot " + "长" * 100))
    encrypt = json.loads(body)["encrypt"]
    cut = base64.b64encode(base64.b64decode(encrypt)[:-32]).decode()
    with caplog.at_level(logging.WARNING):
        status = await harness.post(AIBOT_PATH, _signed(d.AIBOT_TOKEN, cut), json.dumps({"encrypt": cut}).encode())
    assert status == 400
    assert "-4000" in caplog.text
    assert harness.feed.messages == []


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (AIBOT_PATH, b"{not json", "-40002 ParseJson_Error"),
        (AIBOT_PATH, b'{"echo": 1}', "-40002 ParseJson_Error"),
        (APP_PATH, b"<xml><Encrypt>", "-40002 ParseXml_Error"),
        (
            APP_PATH,
            b'<!DOCTYPE b [<!ENTITY a "aaaaaaaaaa"><!ENTITY c "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<xml><Encrypt>&c;</Encrypt></xml>",
            "-40002 ParseXml_Error",
        ),
    ],
)
async def test_malformed_bodies_and_xml_bombs_are_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, path: str, body: bytes, code: str
) -> None:
    with caplog.at_level(logging.WARNING):
        assert await harness.post(path, "msg_signature=a&timestamp=1&nonce=2", body) == 400
    assert code in caplog.text


async def test_oversized_body_is_400(start_harness: StartHarness, caplog: pytest.LogCaptureFixture) -> None:
    h = await start_harness(max_body_bytes=2048)
    query, body = h.aibot.aibot(d.aibot_text("@bot " + "字" * 2000))
    with caplog.at_level(logging.WARNING):
        assert await h.post(AIBOT_PATH, query, body) == 400
    assert "body over 2048 bytes" in caplog.text
    assert h.feed.messages == []


async def test_decrypted_but_malformed_payload_is_400(harness: Harness) -> None:
    query, body = harness.aibot.aibot({"msgtype": "text", "text": {"content": "no msgid"}})
    assert await harness.post(AIBOT_PATH, query, body) == 400
    query, body = harness.app.app("<xml><MsgType>text</MsgType></xml>")
    assert await harness.post(APP_PATH, query, body) == 400
    assert harness.feed.messages == []


async def test_unknown_chat_is_200_and_logged(start_harness: StartHarness, caplog: pytest.LogCaptureFixture) -> None:
    h = await start_harness(chats={"wrchat3dong": "3栋业主群"})
    with caplog.at_level(logging.WARNING):
        assert await h.post(AIBOT_PATH, *h.aibot.aibot(d.aibot_text("@bot hi", chatid="wrother", msgid="x1"))) == 200
        assert await h.post(AIBOT_PATH, *h.aibot.aibot(d.aibot_text("@bot hi", msgid="x2"))) == 200
    await h.settle()
    assert "unknown chat wrother" in caplog.text
    [msg] = h.feed.messages
    assert (msg.chat_id, msg.chat_name) == ("wrchat3dong", "3栋业主群")


async def test_other_bot_id_is_ignored(start_harness: StartHarness) -> None:
    h = await start_harness(aibot_id="MYBOT")
    assert await h.post(AIBOT_PATH, *h.aibot.aibot(d.aibot_text("@bot hi", aibotid="OTHER"))) == 200
    await h.settle()
    assert h.feed.messages == []


async def test_events_are_acknowledged_and_ignored(harness: Harness) -> None:
    event = {"msgid": "e1", "msgtype": "event", "from": {"userid": "u"}, "event": {"eventtype": "enter_chat"}}
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(event)) == 200
    xml = (
        "<xml><ToUserName>wwcorp0001</ToUserName><FromUserName>leader1</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>event</MsgType><Event>enter_agent</Event></xml>"
    )
    assert await harness.post(APP_PATH, *harness.app.app(xml)) == 200
    await harness.settle()
    assert harness.feed.messages == []
    assert harness.adapter.health()["ignored"] == 2


async def test_server_keeps_working_after_bad_input(harness: Harness) -> None:
    await harness.post(AIBOT_PATH, "msg_signature=a&timestamp=1&nonce=2", b"\xff\xfe garbage")
    await harness.post(APP_PATH, "msg_signature=a&timestamp=1&nonce=2", b"<xml>" * 1000)
    assert await harness.post(AIBOT_PATH, *harness.aibot.aibot(d.aibot_text("@bot 还在吗", msgid="ok1"))) == 200
    await harness.settle()
    assert [m.text for m in harness.feed.messages] == ["还在吗"]
    assert harness.adapter.health()["refused"] == 2


@pytest.mark.parametrize(
    ("text", "name", "want"),
    [
        ("@邻里小助手\u2005电梯坏了", "", "电梯坏了"),
        ("@邻里小助手 电梯坏了", "", "电梯坏了"),
        ("电梯坏了 @邻里小助手", "邻里小助手", "电梯坏了"),
        ("@邻里小助手\u2005@张三 电梯坏了", "邻里小助手", "@张三 电梯坏了"),
        ("电梯坏了", "", "电梯坏了"),
        ("@邻里小助手", "", ""),
    ],
)
def test_strip_mention(text: str, name: str, want: str) -> None:
    assert strip_mention(text, name) == want


def test_seen_ids_are_bounded() -> None:
    seen = SeenIds(size=3)
    assert all(seen.add(k) for k in "abcd")
    assert len(seen) == 3
    assert seen.add("a")  # evicted, so new again
    assert not seen.add("d")
