"""Builds callbacks the way WeCom sends them, encrypted by wechatpy (not by linli's own encryptor)."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlencode

from wechatpy.enterprise.crypto import WeChatCrypto

from tests.wecom import vectors as v

APP_TOKEN = "apptoken"
APP_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
AIBOT_TOKEN = "bottoken"
AIBOT_AES_KEY = v.AES_KEY


class Driver:
    """Encrypted callback requests (query string + body) for one token, key and receive id."""

    def __init__(self, token: str, aes_key: str, receive_id: str) -> None:
        self._crypto = WeChatCrypto(token, aes_key, receive_id)
        self.receive_id = receive_id
        self._nonce = 0

    def _encrypt(self, plaintext: str, timestamp: str) -> tuple[str, str, str]:
        self._nonce += 1
        nonce = f"nonce{self._nonce}"
        envelope = self._crypto.encrypt_message(plaintext, nonce, timestamp)
        encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", envelope)
        signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]></MsgSignature>", envelope)
        assert encrypt is not None
        assert signature is not None
        query = urlencode({"msg_signature": signature.group(1), "timestamp": timestamp, "nonce": nonce})
        return query, encrypt.group(1), nonce

    def aibot(self, payload: dict[str, Any], timestamp: str | None = None) -> tuple[str, bytes]:
        query, encrypt, _ = self._encrypt(json.dumps(payload, ensure_ascii=False), timestamp or now_stamp())
        return query, json.dumps({"encrypt": encrypt}).encode()

    def app(self, xml: str, timestamp: str | None = None) -> tuple[str, bytes]:
        query, encrypt, _ = self._encrypt(xml, timestamp or now_stamp())
        body = (
            f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
        )
        return query, body.encode()

    def verify(self, echo: str = "echo-1234567890", timestamp: str = "1700000000") -> tuple[str, str]:
        """The query string of a URL-verification GET and the plaintext it must be answered with."""
        query, encrypt, nonce = self._encrypt(echo, timestamp)
        signature = dict(p.split("=", 1) for p in query.split("&"))["msg_signature"]
        return urlencode({"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": encrypt}), echo


def now_stamp() -> str:
    """A callback's timestamp as WeCom signs it: now (linli refuses callbacks far from its clock)."""
    return str(int(time.time()))


def aibot_text(
    content: str,
    *,
    msgid: str = "CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=",
    chatid: str = "wrchat3dong",
    userid: str = "resident1",
    chattype: str = "group",
    response_url: str = "",
    aibotid: str = "AIBOTID",
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "msgid": msgid,
        "aibotid": aibotid,
        "chattype": chattype,
        "from": {"userid": userid},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": content},
    }
    if chattype == "group":
        payload["chatid"] = chatid
    return payload


def app_text(
    content: str,
    *,
    msg_id: str = "1456453720",
    userid: str = "leader1",
    corp_id: str = "wwcorp0001",
    create_time: int = 1700000000,
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><FromUserName><![CDATA[{userid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )
