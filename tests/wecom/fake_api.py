"""A local fake of the WeCom server API, faithful to the documented behaviour linli relies on.

Runs as an aiohttp app on 127.0.0.1 with a ``FakeClock`` shared with the code under test, so token
expiry and rate-limit windows are crossed by advancing the clock, never by sleeping.

Enforced (shared/WECOM.md §3, §4.3, §6): gettoken errors (40013 CorpID, 40001 secret); access tokens
that expire after ``expires_in`` (42001) or are unknown (40014) or missing (41001); message/send text
≤ 2048 bytes (45002), empty content (44004), bad msgtype (40008), unknown members (81013 when all are
invalid); **per member 30/min and 1000/h, excess silently dropped with errcode 0**; webhook keys
(93000), markdown ≤ 4096 bytes, text ≤ 2048 bytes, images ≤ 2 MB with matching md5, **20/min per
robot (45009)**; response_url usable once within an hour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Stands in for ``asyncio.sleep``: time passes at once."""
        self.advance(seconds)


# Codes the public docs do not pin down; the fake's choice, named so tests read clearly.
RESPONSE_URL_USED = 600001
RESPONSE_URL_EXPIRED = 600002
IMAGE_MD5_MISMATCH = 600003


@dataclass
class Delivered:
    touser: str
    content: str
    at: float


@dataclass
class FakeWeCom:
    clock: FakeClock
    corp_id: str = "wwcorp0001"
    secret: str = "app-secret"
    agent_id: int = 1000002
    members: set[str] = field(default_factory=lambda: {"leader1", "leader2", "resident1", "resident2"})
    webhook_keys: set[str] = field(default_factory=lambda: {"hook-3dong"})
    token_ttl: int = 7200

    tokens: dict[str, float] = field(default_factory=dict)
    gettoken_calls: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    dropped: list[Delivered] = field(default_factory=list)
    webhook_posts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    webhook_refused: int = 0
    response_codes: dict[str, float] = field(default_factory=dict)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _member_sends: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _webhook_sends: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    base_url: str = ""

    # -- helpers for tests ------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """WeCom may invalidate tokens early; the next call answers 42001."""
        for token in self.tokens:
            self.tokens[token] = self.clock() - 1

    def revoke_tokens(self) -> None:
        """Forget every token; the next call answers 40014."""
        self.tokens.clear()

    def new_response_url(self) -> str:
        code = f"rc{next(self._counter)}"
        self.response_codes[code] = self.clock()
        return f"{self.base_url}/cgi-bin/aibot/response?response_code={code}"

    def texts_to(self, userid: str) -> list[str]:
        return [d.content for d in self.delivered if d.touser == userid]

    # -- the app --------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.message_send)
        app.router.add_post("/cgi-bin/webhook/send", self.webhook_send)
        app.router.add_post("/cgi-bin/aibot/response", self.aibot_response)
        return app

    @staticmethod
    def _err(code: int, msg: str) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": msg})

    async def gettoken(self, request: web.Request) -> web.Response:
        self.gettoken_calls += 1
        if request.query.get("corpid") != self.corp_id:
            return self._err(40013, "invalid corpid")
        if request.query.get("corpsecret") != self.secret:
            return self._err(40001, "invalid credential")
        token = f"token{next(self._counter):04d}"
        self.tokens[token] = self.clock() + self.token_ttl
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl})

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token")
        if not token:
            return self._err(41001, "access_token missing")
        if token not in self.tokens:
            return self._err(40014, "invalid access_token")
        if self.tokens[token] <= self.clock():
            return self._err(42001, "access_token expired")
        return None

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any] | None:
        try:
            data = json.loads(await request.read())
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    @staticmethod
    def _within(stamps: deque[float], now: float, seconds: float) -> int:
        return sum(1 for t in stamps if t > now - seconds)

    async def message_send(self, request: web.Request) -> web.Response:
        refused = self._check_token(request)
        if refused is not None:
            return refused
        data = await self._json(request)
        if data is None:
            return self._err(47001, "data format error. Warning: wrong json format.")
        if data.get("agentid") != self.agent_id:
            return self._err(40056, "invalid agentid")
        if data.get("msgtype") != "text":
            return self._err(40008, "invalid message type")
        content = str((data.get("text") or {}).get("content", ""))
        if not content:
            return self._err(44004, "empty content")
        if len(content.encode("utf-8")) > 2048:
            return self._err(45002, "content size out of limit")
        users = [u for u in str(data.get("touser", "")).split("|") if u]
        valid = [u for u in users if u in self.members]
        invalid = [u.lower() for u in users if u not in self.members]
        if not valid:
            return self._err(81013, "user & party & tag all invalid")
        now = self.clock()
        for user in valid:
            stamps = self._member_sends[user]
            entry = Delivered(user, content, now)
            if self._within(stamps, now, 60) >= 30 or self._within(stamps, now, 3600) >= 1000:
                self.dropped.append(entry)  # WeCom drops silently and still answers 0
                continue
            stamps.append(now)
            self.delivered.append(entry)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg{next(self._counter)}"}
        if invalid:
            answer["invaliduser"] = "|".join(invalid)
        return web.json_response(answer)

    async def webhook_send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            return self._err(93000, "invalid webhook url")
        data = await self._json(request)
        if data is None:
            return self._err(40008, "invalid message type")
        now = self.clock()
        stamps = self._webhook_sends[key]
        if self._within(stamps, now, 60) >= 20:
            self.webhook_refused += 1
            return self._err(45009, "api freq out of limit")
        msgtype = data.get("msgtype")
        if msgtype == "markdown":
            content = str((data.get("markdown") or {}).get("content", ""))
            if not content:
                return self._err(44004, "empty content")
            if len(content.encode("utf-8")) > 4096:
                return self._err(45002, "content size out of limit")
        elif msgtype == "text":
            content = str((data.get("text") or {}).get("content", ""))
            if len(content.encode("utf-8")) > 2048:
                return self._err(45002, "content size out of limit")
        elif msgtype == "image":
            image = data.get("image") or {}
            try:
                raw = base64.b64decode(str(image.get("base64", "")), validate=True)
            except binascii.Error:
                return self._err(40008, "invalid image")
            if len(raw) > 2 * 1024 * 1024:
                return self._err(45002, "image size out of limit")
            if hashlib.md5(raw).hexdigest() != image.get("md5"):
                return self._err(IMAGE_MD5_MISMATCH, "image md5 mismatch")
        else:
            return self._err(40008, "invalid message type")
        stamps.append(now)
        self.webhook_posts[key].append(data)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def aibot_response(self, request: web.Request) -> web.Response:
        code = request.query.get("response_code", "")
        if code not in self.response_codes:
            return self._err(RESPONSE_URL_USED, "response_code invalid or used")
        created = self.response_codes.pop(code)
        if self.clock() - created > 3600:
            return self._err(RESPONSE_URL_EXPIRED, "response_code expired")
        data = await self._json(request)
        if data is None or data.get("msgtype") not in {"markdown", "template_card"}:
            return self._err(40008, "invalid message type")
        self.responses.append((code, data))
        return web.json_response({"errcode": 0, "errmsg": "ok"})
