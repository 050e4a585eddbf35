"""A local fake of WeCom's 智能机器人 long-connection gateway, and a clock whose sleeps wait for the test.

The gateway follows the published protocol (document 101463 and the frame shapes of Tencent's
``@wecom/aibot-node-sdk``, see docs/wecom.md):

* the first frame must be ``aibot_subscribe`` with the right ``bot_id`` and ``secret``; the answer is
  ``{"headers": {"req_id"}, "errcode": 0, "errmsg": "ok"}`` or, for wrong credentials, 853000 and the
  socket is closed;
* one connection per bot: a second subscription replaces the first, which gets an
  ``aibot_event_callback`` with ``disconnected_event`` and is closed;
* ``ping`` is acknowledged (unless ``answer_pings`` is off);
* ``aibot_respond_msg`` must carry the ``req_id`` of a callback this connection delivered
  (846605 invalid req_id otherwise), a ``stream`` (or ``template_card``) body, content ≤ 20480
  bytes; after ``finish: true`` the stream is over (846608 stream message update expired);
* ``aibot_send_msg`` needs a ``chatid`` of a conversation in which someone has messaged the bot
  (WeCom only lets the bot speak where it has been spoken to) and markdown ≤ 4096 bytes.

Codes the public material does not pin down are the fake's choice and named below.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

AUTH_FAILED = 853000
INVALID_REQ_ID = 846605
STREAM_EXPIRED = 846608
CHAT_UNREACHABLE = 600010  # the fake's choice: a push into a chat nobody has written the bot from
CONTENT_TOO_LONG = 45002


class ManualTime:
    """``sleep`` that returns only when the test advances the time past its deadline."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, float, asyncio.Future[None]]] = []
        self._changed = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.now + seconds, seconds, future)
        self._sleepers.append(entry)
        async with self._changed:
            self._changed.notify_all()
        try:
            await future
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def sleeping(self, seconds: float) -> int:
        """How many sleeps of ``seconds`` are waiting."""
        return sum(1 for _, asked, f in self._sleepers if asked == seconds and not f.done())

    async def until_sleeping(self, seconds: float, count: int = 1) -> None:
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: self.sleeping(seconds) >= count)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, _, future in list(self._sleepers):
            if deadline <= self.now and not future.done():
                future.set_result(None)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    subscribed: bool = False
    callbacks: dict[str, bool] = field(default_factory=dict)
    """req_id of every callback delivered on this connection → its stream has finished."""


@dataclass
class FakeGateway:
    bot_id: str = "aibLINLI01"
    secret: str = "bot-secret"
    answer_pings: bool = True
    answer_subscribe: bool = True
    connections: list[Connection] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[tuple[str, int]] = field(default_factory=list)
    reachable_chats: set[str] = field(default_factory=set)
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.handle)
        return app

    # -- what tests call ------------------------------------------------------------------------

    @property
    def live(self) -> Connection | None:
        for conn in reversed(self.connections):
            if conn.subscribed and not conn.ws.closed:
                return conn
        return None

    def count(self, cmd: str) -> int:
        return sum(1 for f in self.frames if f.get("cmd") == cmd)

    async def until(self, done: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(done)

    async def push_message(self, body: dict[str, Any]) -> str:
        """Deliver an ``aibot_msg_callback`` on the live connection; returns its req_id."""
        conn = self.live
        assert conn is not None, "no subscribed connection"
        req_id = f"cb{next(self._ids)}"
        conn.callbacks[req_id] = False
        chat = body.get("chatid") if body.get("chattype") == "group" else (body.get("from") or {}).get("userid")
        if chat:
            self.reachable_chats.add(str(chat))
        await conn.ws.send_str(json.dumps({"cmd": "aibot_msg_callback", "headers": {"req_id": req_id}, "body": body}))
        return req_id

    async def push_event(self, eventtype: str, conn: Connection | None = None) -> None:
        conn = conn or self.live
        assert conn is not None
        body = {
            "msgid": f"ev{next(self._ids)}",
            "create_time": 1700000000,
            "aibotid": self.bot_id,
            "from": {"userid": ""},
            "msgtype": "event",
            "event": {"eventtype": eventtype},
        }
        await conn.ws.send_str(
            json.dumps({"cmd": "aibot_event_callback", "headers": {"req_id": f"ev{next(self._ids)}"}, "body": body})
        )

    async def drop(self) -> None:
        """WeCom (or the network) closes the live connection without a word."""
        conn = self.live
        assert conn is not None
        await conn.ws.close()

    # -- the server -----------------------------------------------------------------------------

    async def _note(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        async with self._changed:
            self._changed.notify_all()

    async def _ack(self, conn: Connection, req_id: str, errcode: int = 0, errmsg: str = "ok") -> None:
        await conn.ws.send_str(json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}))

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.append(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                frame = json.loads(msg.data)
                await self._note(frame)
                await self._serve(conn, frame)
        finally:
            async with self._changed:
                self._changed.notify_all()
        return ws

    async def _serve(self, conn: Connection, frame: dict[str, Any]) -> None:
        cmd = frame.get("cmd")
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        body = frame.get("body") or {}
        if not conn.subscribed:
            if cmd != "aibot_subscribe" or not self.answer_subscribe:
                return
            if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
                await self._ack(conn, req_id, AUTH_FAILED, "invalid bot_id or secret")
                await conn.ws.close()
                return
            for old in self.connections:
                if old is not conn and old.subscribed and not old.ws.closed:
                    await self.push_event("disconnected_event", old)
                    await old.ws.close()
            conn.subscribed = True
            await self._ack(conn, req_id)
            return
        if cmd == "ping":
            if self.answer_pings:
                await self._ack(conn, req_id)
        elif cmd == "aibot_respond_msg":
            await self._respond(conn, req_id, body)
        elif cmd == "aibot_send_msg":
            await self._send(conn, req_id, body)
        else:
            await self._ack(conn, req_id, 40008, "invalid cmd")

    async def _refuse(self, conn: Connection, req_id: str, code: int, msg: str) -> None:
        self.refusals.append((req_id, code))
        await self._ack(conn, req_id, code, msg)

    async def _respond(self, conn: Connection, req_id: str, body: dict[str, Any]) -> None:
        if req_id not in conn.callbacks:
            return await self._refuse(conn, req_id, INVALID_REQ_ID, "invalid req_id")
        if conn.callbacks[req_id]:
            return await self._refuse(conn, req_id, STREAM_EXPIRED, "stream message update expired")
        if body.get("msgtype") == "stream":
            stream = body.get("stream") or {}
            if not stream.get("id"):
                return await self._refuse(conn, req_id, 40008, "stream without id")
            if len(str(stream.get("content", "")).encode()) > 20480:
                return await self._refuse(conn, req_id, CONTENT_TOO_LONG, "content size out of limit")
            conn.callbacks[req_id] = bool(stream.get("finish"))
        elif body.get("msgtype") != "template_card":
            return await self._refuse(conn, req_id, 40008, "invalid message type")
        self.replies.append((req_id, body))
        await self._ack(conn, req_id)
        return None

    async def _send(self, conn: Connection, req_id: str, body: dict[str, Any]) -> None:
        chatid = str(body.get("chatid", ""))
        if chatid not in self.reachable_chats:
            return await self._refuse(conn, req_id, CHAT_UNREACHABLE, "chat not reachable")
        if body.get("msgtype") != "markdown":
            return await self._refuse(conn, req_id, 40008, "invalid message type")
        content = str((body.get("markdown") or {}).get("content", ""))
        if not content or len(content.encode()) > 4096:
            return await self._refuse(conn, req_id, CONTENT_TOO_LONG, "content size out of limit")
        self.pushes.append(body)
        await self._ack(conn, req_id)
        return None
