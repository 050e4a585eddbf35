"""The 智能机器人's long connection (长连接): one WebSocket to WeCom, no public URL needed.

Protocol (developer.work.weixin.qq.com/document/path/101463; frame shapes as in Tencent's
``@wecom/aibot-node-sdk``; see docs/wecom.md for the sources). Every frame is a JSON text message
``{"cmd": …, "headers": {"req_id": …}, "body": …}``; WeCom answers a request with a frame that has no
``cmd``, the same ``req_id`` and ``errcode``/``errmsg``.

* after the socket opens linli sends ``aibot_subscribe`` with ``{"bot_id", "secret"}``; errcode 0
  means subscribed, anything else (e.g. 853000 invalid bot_id or secret) is refused;
* ``ping`` every ``heartbeat`` seconds; two unanswered in a row mean the connection is dead;
* WeCom pushes ``aibot_msg_callback`` (body: the same JSON as the callback mode) and
  ``aibot_event_callback`` (body.event.eventtype: enter_chat, template_card_event, feedback_event,
  ``disconnected_event`` = another connection for this bot replaced this one: do **not** reconnect,
  or two instances would keep kicking each other off);
* answers go back as ``aibot_respond_msg`` with the callback's own ``req_id`` (a ``stream`` body
  with ``finish: true``; acknowledgements for one ``req_id`` come back in order, so linli sends one
  at a time per ``req_id`` and waits for each ack); ``aibot_send_msg`` pushes markdown into a chat
  on linli's own initiative.

``start`` returns only once WeCom has confirmed the subscription, or raises ``AdapterStartError``
within ``connect_timeout``. After that the connection is kept by a background task: a lost socket is
reconnected at once, then with exponential backoff capped at ``reconnect_max`` seconds, for as long
as linli runs; ``health()`` shows it. All waiting goes through the injected ``sleep`` so tests move
time by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.adapters.base import AdapterStartError

log = logging.getLogger(__name__)

DEFAULT_URL = "wss://openws.work.weixin.qq.com"
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
SEND = "aibot_send_msg"
DISCONNECTED_EVENT = "disconnected_event"
MAX_MISSED_PINGS = 2
MAX_FRAME_BYTES = 1024 * 1024
STREAM_LIMIT = 20480
"""Bytes of UTF-8 in one ``stream`` reply's content."""

Sleep = Callable[[float], Awaitable[None]]
OnFrame = Callable[[str, dict[str, Any]], None]
"""Called with (req_id, body) for every ``aibot_msg_callback``; must not block."""


class LongConnError(Exception):
    """WeCom answered a request with a non-zero errcode, or the connection could not carry it."""

    def __init__(self, errcode: int, errmsg: str, cmd: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.cmd = cmd
        super().__init__(f"{cmd}: errcode {errcode} {errmsg}".rstrip())


class NotConnected(LongConnError):
    def __init__(self, cmd: str, why: str = "not connected") -> None:
        super().__init__(-1, why, cmd)


async def within(awaitable: Awaitable[Any], seconds: float, sleep: Sleep) -> Any:
    """``awaitable``'s result, or ``TimeoutError`` once ``sleep(seconds)`` has finished first."""
    work = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(sleep(seconds))
    try:
        done, _ = await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
    if work in done:
        return work.result()
    work.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await work
    raise TimeoutError(f"no answer within {seconds:g}s")


@dataclass
class LongConnStats:
    connected: bool = False
    subscribed_at: int = 0
    reconnects: int = 0
    replaced: bool = False
    last_error: str = ""
    frames_in: int = 0
    missed_pings: int = 0


class LongConnection:
    """One subscribed WebSocket to the 智能机器人 gateway, kept alive until ``stop``."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        bot_id: str,
        secret: SecretStr,
        on_message: OnFrame,
        url: str = DEFAULT_URL,
        heartbeat: float = 30.0,
        connect_timeout: float = 10.0,
        ack_timeout: float = 5.0,
        reconnect_max: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._session = session
        self._bot_id = bot_id
        self._secret = secret
        self._on_message = on_message
        self._url = url
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._ack_timeout = ack_timeout
        self._reconnect_max = reconnect_max
        self._sleep = sleep
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._pings: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._up = asyncio.Event()
        self.stats = LongConnStats()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and subscribe, or raise ``AdapterStartError`` (wrong secret, unreachable, no answer)."""
        try:
            await within(self._connect(), self._connect_timeout, self._sleep)
        except TimeoutError as exc:
            raise AdapterStartError(
                f"wecom long connection: no subscription confirmed within {self._connect_timeout:g}s ({self._url})"
            ) from exc
        except LongConnError as exc:
            raise AdapterStartError(f"wecom long connection refused: {exc} (check aibot_id and aibot_secret)") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise AdapterStartError(f"wecom long connection: cannot reach {self._url}: {exc}") from exc
        self._runner = asyncio.create_task(self._run(), name="wecom-longconn")

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        await self._close("stopped")

    @property
    def connected(self) -> bool:
        return self.stats.connected

    def health(self) -> dict[str, object]:
        s = self.stats
        return {
            "connected": s.connected,
            "reconnects": s.reconnects,
            "replaced": s.replaced,
            "last_error": s.last_error,
            "frames_in": s.frames_in,
            "missed_pings": s.missed_pings,
        }

    # -- requests -------------------------------------------------------------------------------

    def _req_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    async def respond(self, req_id: str, body: dict[str, Any]) -> None:
        """Answer the callback ``req_id`` (``aibot_respond_msg``) and wait for WeCom's ack."""
        await self.request(RESPOND, body, req_id=req_id)

    async def send(self, body: dict[str, Any]) -> None:
        """Push a message on linli's initiative (``aibot_send_msg``) and wait for WeCom's ack."""
        await self.request(SEND, body)

    async def request(self, cmd: str, body: dict[str, Any], *, req_id: str | None = None) -> dict[str, Any]:
        """Send one frame and wait for its ack; one request at a time per ``req_id``."""
        req_id = req_id or self._req_id(cmd)
        lock = self._locks.setdefault(req_id, asyncio.Lock())
        try:
            async with lock:
                return await self._request_locked(cmd, body, req_id)
        finally:
            if not lock.locked() and self._locks.get(req_id) is lock:
                del self._locks[req_id]

    async def _request_locked(self, cmd: str, body: dict[str, Any], req_id: str) -> dict[str, Any]:
        ws = self._ws
        if ws is None or ws.closed or not self.stats.connected:
            raise NotConnected(cmd)
        ack: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[req_id] = ack
        try:
            await ws.send_str(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}, ensure_ascii=False))
            frame: dict[str, Any] = await within(ack, self._ack_timeout, self._sleep)
        except TimeoutError as exc:
            raise NotConnected(cmd, f"no ack within {self._ack_timeout:g}s") from exc
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise NotConnected(cmd, type(exc).__name__) from exc
        finally:
            self._acks.pop(req_id, None)
        errcode = _errcode(frame)
        if errcode != 0:
            raise LongConnError(errcode, str(frame.get("errmsg", "")), cmd)
        return frame

    # -- the connection -------------------------------------------------------------------------

    async def _connect(self) -> None:
        """Open the socket, subscribe and wait for the confirmation (the caller bounds the time)."""
        ws = await self._session.ws_connect(self._url, autoping=True, heartbeat=None, max_msg_size=MAX_FRAME_BYTES)
        req_id = self._req_id(SUBSCRIBE)
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "cmd": SUBSCRIBE,
                        "headers": {"req_id": req_id},
                        "body": {"bot_id": self._bot_id, "secret": self._secret.get_secret_value()},
                    }
                )
            )
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise NotConnected(
                        SUBSCRIBE, f"socket {msg.type.name.lower()} before the subscription was confirmed"
                    )
                frame = _decode(msg.data)
                if frame is None or frame.get("cmd") or _header(frame) != req_id:
                    continue  # nothing else is expected before the ack; ignore rather than fail
                errcode = _errcode(frame)
                if errcode != 0:
                    raise LongConnError(errcode, str(frame.get("errmsg", "")), SUBSCRIBE)
                break
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self._pings.clear()
        self.stats.connected = True
        self.stats.missed_pings = 0
        self.stats.last_error = ""
        log.info("wecom long connection subscribed (bot %s)", self._bot_id)

    async def _close(self, why: str) -> None:
        ws, self._ws = self._ws, None
        was_up = self.stats.connected
        self.stats.connected = False
        for req_id, ack in list(self._acks.items()):
            if not ack.done():
                ack.set_exception(NotConnected(req_id, why))
        if ws is not None and not ws.closed:
            await ws.close()
        if was_up and not self._stopping:
            log.warning("wecom long connection lost: %s", why)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._serve()
            except Exception as exc:  # never let the keeper die; note it and reconnect
                log.exception("wecom long connection: reader failed")
                self.stats.last_error = f"reader: {type(exc).__name__}"
            if self._stopping:
                return
            if self.stats.replaced:
                await self._close("replaced by another connection")
                log.error(
                    "wecom long connection replaced by another connection for bot %s (disconnected_event); "
                    "not reconnecting: run one linli per bot",
                    self._bot_id,
                )
                return
            await self._close(self.stats.last_error or "closed by WeCom")
            await self._reconnect()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._stopping:
            delay = 0.0 if attempt == 0 else min(self._reconnect_max, 2.0 ** (attempt - 1))
            attempt += 1
            if delay:
                await self._sleep(delay)
            self.stats.reconnects += 1
            try:
                await within(self._connect(), self._connect_timeout, self._sleep)
                log.info("wecom long connection back after %d attempt(s)", attempt)
                return
            except (TimeoutError, LongConnError, aiohttp.ClientError, OSError) as exc:
                self.stats.last_error = f"reconnect: {exc}" if str(exc) else f"reconnect: {type(exc).__name__}"
                log.warning("wecom long connection: reconnect attempt %d failed: %s", attempt, exc)

    async def _serve(self) -> None:
        ws = self._ws
        if ws is None:
            return
        beat = asyncio.create_task(self._heartbeat_loop(ws), name="wecom-longconn-ping")
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._handle(msg.data)
                    if self.stats.replaced:
                        return
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    self.stats.last_error = f"socket error: {ws.exception()}"
                    return
            if ws.close_code is not None and not self.stats.last_error:
                self.stats.last_error = f"closed by WeCom (code {ws.close_code})"
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await self._sleep(self._heartbeat)
            if ws.closed:
                return
            if self.stats.missed_pings >= MAX_MISSED_PINGS:
                self.stats.last_error = f"{self.stats.missed_pings} heartbeats unanswered"
                log.warning("wecom long connection: %s; reconnecting", self.stats.last_error)
                await ws.close()
                return
            req_id = self._req_id(PING)
            self._pings.add(req_id)
            self.stats.missed_pings += 1
            try:
                await ws.send_str(json.dumps({"cmd": PING, "headers": {"req_id": req_id}}))
            except (aiohttp.ClientError, ConnectionError, RuntimeError):
                return

    def _handle(self, data: str) -> None:
        frame = _decode(data)
        if frame is None:
            log.warning("wecom long connection: a frame that is not a JSON object was ignored")
            return
        self.stats.frames_in += 1
        cmd = frame.get("cmd")
        req_id = _header(frame)
        if not cmd:
            if req_id in self._pings:
                self._pings.discard(req_id)
                self.stats.missed_pings = 0
                return
            ack = self._acks.get(req_id)
            if ack is not None and not ack.done():
                ack.set_result(frame)
            else:
                log.debug("wecom long connection: ack for unknown req_id %s", req_id)
            return
        body = frame.get("body")
        if cmd == MSG_CALLBACK and isinstance(body, dict) and req_id:
            self._on_message(req_id, body)
        elif cmd == EVENT_CALLBACK and isinstance(body, dict):
            event = body.get("event")
            eventtype = event.get("eventtype") if isinstance(event, dict) else None
            if eventtype == DISCONNECTED_EVENT:
                self.stats.replaced = True
                self.stats.last_error = "replaced by another connection (disconnected_event)"
            else:
                log.debug("wecom long connection: event %s ignored", eventtype)
        else:
            log.warning("wecom long connection: unexpected frame %s ignored", cmd)


def _decode(data: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(data)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None


def _header(frame: dict[str, Any]) -> str:
    headers = frame.get("headers")
    return str(headers.get("req_id", "")) if isinstance(headers, dict) else ""


def _errcode(frame: dict[str, Any]) -> int:
    try:
        return int(frame.get("errcode", 0))
    except (TypeError, ValueError):
        return -1


__all__ = ["DEFAULT_URL", "STREAM_LIMIT", "LongConnError", "LongConnection", "NotConnected"]
