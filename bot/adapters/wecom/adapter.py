"""``WeComAdapter``: linli's Enterprise WeChat channel.

Web: the composition root runs one aiohttp server and adds ``adapter.web_routes()`` to it:

* ``GET|POST /wecom/aibot/callback`` — the 智能机器人 (JSON, receive id ``""``);
* ``GET|POST /wecom/app/callback`` — the self-built app (XML, receive id = CorpID).

Each route exists only when its channel is configured. A GET is URL verification, answered with the bare
decrypted echostr. A POST is verified, decrypted and checked to be within ``callback_window_seconds`` of its
own timestamp; its message is handed to the pipeline in a tracked task (a set, discarded when done, drained by
``stop``) and the callback is answered with an empty 200 only once the message is stored, or 503 so that WeCom
sends it again (it retries three times). Forged signatures and stale timestamps get 403; malformed, oversized
or undecryptable bodies get 400; both are logged with WeCom's error code. Retried or replayed callbacks (same
msgid) and unknown chats get 200 and are logged.

Sending (see ``send``):

* ``Say`` into a group: the pending ``response_url`` of the last @-mention in that group (used
  once, within the hour), else the group's robot webhook, else app messages to the mentioned members
  (or to whoever @-mentioned the bot);
* ``Say`` with ``chat_id == DIRECT_CHAT``: app messages to each mentioned member;
* ``DirectMessage``: the pending ``response_url`` of that member's one-to-one AI-bot chat, else an app
  message;
* ``SendImage`` into a group: the group's robot webhook (PNG/JPEG ≤ 2 MB) with the caption first.

Long-connection mode (``aibot_id`` + ``aibot_secret``, see ``longconn.py``): the same messages arrive
over a WebSocket instead of callbacks and are translated by the same code; a message is answered
over the socket (``aibot_respond_msg``) instead of its ``response_url``; and where the callback mode
would have to fall back to app messages, the bot can push markdown into the chat itself
(``aibot_send_msg``: groups after the webhook, members after the app).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.adapters.base import AdapterStartError, Feed
from bot.adapters.ratelimit import Clock, Sleep, SlidingWindowLimiter, Window
from bot.adapters.textsplit import split_text
from bot.adapters.wecom.callback import (
    AibotMessage,
    SeenIds,
    parse_aibot_message,
    parse_aibot_payload,
    parse_app_message,
)
from bot.adapters.wecom.client import (
    APP_TEXT_LIMIT,
    WebhookClient,
    WeComApiClient,
    WeComApiError,
    WeComSendError,
    post_response_url,
)
from bot.adapters.wecom.crypto import (
    CryptoErrorCode,
    WeComCrypto,
    WeComCryptoError,
    encrypt_from_json,
    encrypt_from_xml,
)
from bot.adapters.wecom.longconn import STREAM_LIMIT, LongConnection, LongConnError, NotConnected
from bot.adapters.wecom.webhook import (
    MARKDOWN_LIMIT,
    PayloadError,
    image_payload,
    markdown_payloads,
    with_mentions,
)
from bot.message import (
    DIRECT_CHAT,
    DirectMessage,
    IncomingMessage,
    NotStored,
    OutgoingMessage,
    Platform,
    Say,
    SendImage,
)
from config.settings import WeComSettings

log = logging.getLogger(__name__)

AIBOT_PATH = "/wecom/aibot/callback"
APP_PATH = "/wecom/app/callback"


@dataclass(slots=True)
class PendingReply:
    """How to answer one message, once, until ``expires_at`` (monotonic): its ``response_url``
    (callback mode) or its ``req_id`` on the long connection."""

    url: str
    sender: str
    expires_at: float
    req_id: str = ""


class WeComAdapter:
    """Translates WeCom callbacks to ``IncomingMessage`` and outbound messages to WeCom APIs."""

    platform = Platform.WECOM.value

    def __init__(
        self,
        settings: WeComSettings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        ws_sleep: Sleep = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``now`` stamps AI-bot messages (their payload has no time); ``wall`` is the clock callback
        timestamps are checked against."""
        self._settings = settings
        self._wall = wall
        self._clock = clock
        self._sleep = sleep
        self._ws_sleep = ws_sleep
        self._now = now
        self._ws_session: aiohttp.ClientSession | None = None
        self._longconn: LongConnection | None = None
        self._pushes = SlidingWindowLimiter(
            [Window(settings.aibot_send_per_minute, 60.0), Window(settings.aibot_send_per_hour, 3600.0)], clock
        )
        self._feed: Feed | None = None
        self._session: aiohttp.ClientSession | None = None
        self._api: WeComApiClient | None = None
        self._webhooks: WebhookClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._inflight: dict[str, asyncio.Task[bool]] = {}
        self._seen = SeenIds(settings.dedupe_size)
        self._pending: dict[str, PendingReply] = {}
        self._stats: dict[str, int] = {
            "received": 0,
            "refused": 0,
            "duplicates": 0,
            "ignored": 0,
            "fed": 0,
            "feed_errors": 0,
            "response_url_replies": 0,
            "socket_replies": 0,
            "socket_pushes": 0,
            "fallbacks": 0,
        }
        try:
            self._app_crypto = (
                WeComCrypto(settings.token.get_secret_value(), settings.aes_key.get_secret_value(), settings.corp_id)
                if settings.app_callback_enabled
                else None
            )
            self._aibot_crypto = (
                WeComCrypto(settings.aibot_token.get_secret_value(), settings.aibot_aes_key.get_secret_value(), "")
                if settings.aibot_enabled
                else None
            )
        except WeComCryptoError as exc:
            raise AdapterStartError(f"wecom settings: {exc.label} (check the EncodingAESKey)") from exc

    # -- lifecycle ------------------------------------------------------------------------------

    def web_routes(self) -> list[web.RouteDef]:
        routes: list[web.RouteDef] = []
        if self._aibot_crypto is not None:
            routes += [web.get(AIBOT_PATH, self._aibot_verify), web.post(AIBOT_PATH, self._aibot_post)]
        if self._app_crypto is not None:
            routes += [web.get(APP_PATH, self._app_verify), web.post(APP_PATH, self._app_post)]
        return routes

    async def start(self, feed: Feed) -> None:
        self._feed = feed
        timeout = aiohttp.ClientTimeout(total=self._settings.http_timeout_seconds)
        self._session = aiohttp.ClientSession(timeout=timeout)
        s = self._settings
        if s.webhooks:
            self._webhooks = WebhookClient(
                self._session,
                api_base=s.api_base,
                per_minute=s.webhook_per_minute,
                max_wait=s.max_send_wait_seconds,
                clock=self._clock,
                sleep=self._sleep,
            )
        if s.app_enabled:
            self._api = WeComApiClient(
                self._session,
                api_base=s.api_base,
                corp_id=s.corp_id,
                secret=s.secret,
                agent_id=s.agent_id,
                per_minute=s.member_per_minute,
                per_hour=s.member_per_hour,
                max_wait=s.max_send_wait_seconds,
                clock=self._clock,
                sleep=self._sleep,
            )
            try:
                await self._api.tokens.get()
            except WeComSendError as exc:
                if exc.permanent:
                    await self._session.close()
                    raise AdapterStartError(f"wecom app: {exc} (check corp_id, secret and 企业可信IP)") from exc
                log.warning("wecom app: no access token yet (%s); will retry on first send", exc)
        if s.aibot_longconn_enabled:
            await self._start_longconn()
        log.info(
            "wecom started: app=%s app_callback=%s aibot=%s longconn=%s webhooks=%d",
            s.app_enabled,
            s.app_callback_enabled,
            s.aibot_enabled,
            s.aibot_longconn_enabled,
            len(s.webhooks),
        )

    async def _start_longconn(self) -> None:
        s = self._settings
        # Its own session: the long-lived socket must not inherit the API calls' total timeout.
        self._ws_session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=s.aibot_connect_timeout_seconds)
        )
        self._longconn = LongConnection(
            self._ws_session,
            bot_id=s.aibot_id,
            secret=s.aibot_secret,
            on_message=self._on_socket_message,
            url=s.aibot_ws_url,
            heartbeat=s.aibot_heartbeat_seconds,
            connect_timeout=s.aibot_connect_timeout_seconds,
            reconnect_max=s.aibot_reconnect_max_seconds,
            sleep=self._ws_sleep,
        )
        try:
            await self._longconn.start()
        except AdapterStartError:
            await self._close_sessions()
            raise

    async def _close_sessions(self) -> None:
        for session in (self._session, self._ws_session):
            if session is not None:
                await session.close()
        self._session = self._ws_session = None
        self._longconn = None

    async def drain(self) -> None:
        """Wait until every callback accepted so far has been fed to the pipeline."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        if self._longconn is not None:
            await self._longconn.stop()
        await self.drain()
        await self._close_sessions()
        self._feed = None

    def health(self) -> dict[str, object]:
        s = self._settings
        return {
            "platform": self.platform,
            "connected": self._longconn.connected if self._longconn is not None else True,
            "longconn": self._longconn.health() if self._longconn is not None else None,
            "app": s.app_enabled,
            "app_callback": s.app_callback_enabled,
            "aibot": s.aibot_enabled,
            "webhooks": len(s.webhooks),
            "running": self._feed is not None,
            "tasks": len(self._tasks),
            "pending_replies": len(self._pending),
            "app_sent": self._api.sent if self._api else 0,
            "webhook_sent": self._webhooks.sent if self._webhooks else 0,
            "last_error": (self._api.last_error if self._api else "")
            or (self._webhooks.last_error if self._webhooks else ""),
            **self._stats,
        }

    # -- inbound --------------------------------------------------------------------------------

    def _refuse(self, kind: str, request: web.Request, exc: WeComCryptoError) -> web.Response:
        self._stats["refused"] += 1
        status = 403 if exc.code is CryptoErrorCode.ValidateSignature_Error else 400
        log.warning(
            "wecom %s callback refused (%d): %s — %s [from %s]",
            kind,
            status,
            exc.label,
            exc.detail,
            request.remote,
        )
        return web.Response(status=status)

    @staticmethod
    def _query(request: web.Request) -> tuple[str, str, str]:
        q = request.query
        signature, timestamp, nonce = q.get("msg_signature"), q.get("timestamp"), q.get("nonce")
        if not signature or not timestamp or not nonce:
            raise WeComCryptoError(CryptoErrorCode.ValidateSignature_Error, "missing msg_signature/timestamp/nonce")
        return signature, timestamp, nonce

    async def _verify(self, kind: str, crypto: WeComCrypto, request: web.Request) -> web.Response:
        try:
            signature, timestamp, nonce = self._query(request)
            # echostr is base64 and never contains a space: a bare "+" decoded as a space is put back.
            echostr = request.query.get("echostr", "").replace(" ", "+")
            plain = crypto.decrypt_verified(signature, timestamp, nonce, echostr)
        except WeComCryptoError as exc:
            return self._refuse(kind, request, exc)
        log.info("wecom %s callback URL verified", kind)
        return web.Response(body=plain, content_type="text/plain")

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, f"body over {limit} bytes")
        body = bytearray()
        while chunk := await request.content.read(65536):
            body += chunk
            if len(body) > limit:
                raise WeComCryptoError(CryptoErrorCode.ParseXml_Error, f"body over {limit} bytes")
        return bytes(body)

    async def _decrypt_post(self, kind: str, crypto: WeComCrypto, request: web.Request) -> bytes:
        signature, timestamp, nonce = self._query(request)
        body = await self._read_body(request)
        encrypt = encrypt_from_json(body) if kind == "aibot" else encrypt_from_xml(body)
        plain = crypto.decrypt_verified(signature, timestamp, nonce, encrypt)
        self._check_fresh(timestamp)
        return plain

    def _check_fresh(self, timestamp: str) -> None:
        """A signed callback is valid only near its own time: a captured one cannot be replayed later."""
        window = self._settings.callback_window_seconds
        try:
            skew = abs(self._wall() - int(timestamp))
        except ValueError:
            raise WeComCryptoError(CryptoErrorCode.ValidateSignature_Error, "timestamp is not a number") from None
        if skew > window:
            raise WeComCryptoError(
                CryptoErrorCode.ValidateSignature_Error, f"timestamp {timestamp} is {skew:.0f}s away (window {window}s)"
            )

    async def _aibot_verify(self, request: web.Request) -> web.Response:
        assert self._aibot_crypto is not None
        return await self._verify("aibot", self._aibot_crypto, request)

    async def _app_verify(self, request: web.Request) -> web.Response:
        assert self._app_crypto is not None
        return await self._verify("app", self._app_crypto, request)

    async def _aibot_post(self, request: web.Request) -> web.Response:
        assert self._aibot_crypto is not None
        try:
            plain = await self._decrypt_post("aibot", self._aibot_crypto, request)
            parsed = parse_aibot_message(plain, now=self._now(), bot_name=self._settings.aibot_name)
        except WeComCryptoError as exc:
            return self._refuse("aibot", request, exc)
        self._stats["received"] += 1
        if parsed is None:
            self._stats["ignored"] += 1
            log.debug("wecom aibot: event or stream refresh ignored")
            return web.Response(status=200)
        msg = self._accept_aibot(parsed)
        return web.Response(status=200 if msg is None else await self._store(msg))

    def _on_socket_message(self, req_id: str, body: dict[str, Any]) -> None:
        """An ``aibot_msg_callback`` from the long connection: the same translation as a callback."""
        try:
            parsed = parse_aibot_payload(body, now=self._now(), bot_name=self._settings.aibot_name)
        except WeComCryptoError as exc:
            self._stats["refused"] += 1
            log.warning("wecom aibot socket frame refused: %s — %s", exc.label, exc.detail)
            return
        self._stats["received"] += 1
        if parsed is None:
            self._stats["ignored"] += 1
            return
        msg = self._accept_aibot(parsed, req_id=req_id)
        if msg is not None:
            task = asyncio.create_task(self._store(msg), name=f"wecom-socket-{msg.message_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda done: self._socket_stored(msg.message_id, done))

    def _socket_stored(self, message_id: str, done: asyncio.Task[int]) -> None:
        if done.cancelled() or done.exception() is not None or done.result() != 200:
            log.error("wecom aibot socket message %s could not be stored; the socket cannot ask again", message_id)

    def _accept_aibot(self, parsed: AibotMessage, *, req_id: str = "") -> IncomingMessage | None:
        """Filter and deduplicate one AI-bot message and note how to answer it; the message to store, if any."""
        msg = parsed.message
        s = self._settings
        if s.aibot_id and parsed.aibot_id and parsed.aibot_id != s.aibot_id:
            self._stats["ignored"] += 1
            log.warning("wecom aibot: message for another bot id %s ignored", parsed.aibot_id)
            return None
        if not msg.is_direct and s.chats and msg.chat_id not in s.chats:
            self._stats["ignored"] += 1
            log.warning("wecom aibot: message from unknown chat %s ignored (add it to wecom.chats)", msg.chat_id)
            return None
        if msg.message_id in self._seen:
            self._stats["duplicates"] += 1
            log.info("wecom aibot: duplicate %s answered 200 and dropped", msg.message_id)
            return None
        if not msg.is_direct and s.chats:
            msg = replace(msg, chat_name=s.chats[msg.chat_id])
        key = f"dm:{msg.sender_id}" if msg.is_direct else msg.chat_id
        if req_id:
            self._pending[key] = PendingReply(
                "", msg.sender_id, self._clock() + s.aibot_reply_ttl_seconds, req_id=req_id
            )
        elif parsed.response_url:
            self._pending[key] = PendingReply(
                parsed.response_url, msg.sender_id, self._clock() + s.response_url_ttl_seconds
            )
        return msg

    async def _app_post(self, request: web.Request) -> web.Response:
        assert self._app_crypto is not None
        try:
            plain = await self._decrypt_post("app", self._app_crypto, request)
            msg = parse_app_message(plain, agent_id=self._settings.agent_id)
        except WeComCryptoError as exc:
            return self._refuse("app", request, exc)
        self._stats["received"] += 1
        if msg is None:
            self._stats["ignored"] += 1
            log.debug("wecom app: event or other agent ignored")
            return web.Response(status=200)
        if msg.message_id in self._seen:
            self._stats["duplicates"] += 1
            log.info("wecom app: duplicate %s answered 200 and dropped", msg.message_id)
            return web.Response(status=200)
        return web.Response(status=await self._store(msg))

    async def _store(self, msg: IncomingMessage) -> int:
        """Hand ``msg`` to the core and answer once it is stored: 200, or 503 so that WeCom sends it again.

        A retry that arrives while the first copy is still being stored waits for that same attempt. The
        answer is due within WeCom's 5 s: past ``callback_store_seconds`` the work goes on and the callback
        gets 503; WeCom's retry then finds it stored (200) or still in flight.
        """
        key = msg.message_id
        task = self._inflight.get(key)
        if task is None:
            feed = self._feed
            if feed is None:
                log.warning("wecom: callback before start; 503 so that WeCom retries")
                return 503
            task = asyncio.create_task(self._run_feed(feed, msg), name=f"wecom-feed-{key}")
            self._inflight[key] = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        try:
            stored = await asyncio.wait_for(asyncio.shield(task), self._settings.callback_store_seconds)
        except TimeoutError:
            log.warning(
                "wecom: storing %s takes longer than %ss; 503 for now", key, self._settings.callback_store_seconds
            )
            return 503
        return 200 if stored else 503

    async def _run_feed(self, feed: Feed, msg: IncomingMessage) -> bool:
        """True once the core has stored ``msg`` (then it counts as seen); False if it could not."""
        try:
            await feed(msg)
        except NotStored as exc:
            self._stats["feed_errors"] += 1
            log.error("wecom: %s not stored (%s); WeCom will send it again", msg.message_id, exc)
            return False
        except Exception:
            self._stats["feed_errors"] += 1
            log.exception("wecom: feeding %s failed", msg.message_id)
            return False
        self._seen.add(msg.message_id)
        self._stats["fed"] += 1
        return True

    # -- outbound -------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        if self._session is None:
            raise WeComSendError("wecom adapter is not started", retry_after=5.0)
        if isinstance(message, Say):
            if message.chat_id == DIRECT_CHAT:
                if not message.mentions:
                    raise WeComSendError("a direct Say needs a recipient in mentions", permanent=True)
                for userid in message.mentions:
                    await self._send_direct(userid, message.text)
                return
            await self._say(message)
        elif isinstance(message, DirectMessage):
            await self._send_direct(message.to, message.text)
        elif isinstance(message, SendImage):
            await self._send_image(message)
        else:  # pragma: no cover - exhaustive over OutgoingMessage
            raise WeComSendError(f"unsupported message {type(message).__name__}", permanent=True)

    def _take_pending(self, key: str) -> PendingReply | None:
        pending = self._pending.pop(key, None)
        now = self._clock()
        for stale in [k for k, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[stale]
        if pending is None or pending.expires_at <= now:
            return None
        return pending

    async def _via_response_url(self, pending: PendingReply, text: str, mentions: tuple[str, ...]) -> bool:
        assert self._session is not None
        head, body = with_mentions(text, mentions)
        content = head + body
        if pending.req_id:
            return await self._via_socket_reply(pending, content)
        if len(content.encode("utf-8")) > MARKDOWN_LIMIT:
            return False
        try:
            await post_response_url(
                self._session, pending.url, {"msgtype": "markdown", "markdown": {"content": content}}
            )
        except (WeComApiError, WeComSendError) as exc:
            self._stats["fallbacks"] += 1
            log.warning("wecom: response_url refused (%s); falling back", exc)
            return False
        self._stats["response_url_replies"] += 1
        return True

    async def _via_socket_reply(self, pending: PendingReply, content: str) -> bool:
        """Answer over the long connection: one finished ``stream`` with the callback's ``req_id``."""
        if self._longconn is None or len(content.encode("utf-8")) > STREAM_LIMIT:
            return False
        body = {"msgtype": "stream", "stream": {"id": f"linli-{pending.req_id}", "finish": True, "content": content}}
        try:
            await self._longconn.respond(pending.req_id, body)
        except LongConnError as exc:
            self._stats["fallbacks"] += 1
            log.warning("wecom: socket reply refused (%s); falling back", exc)
            return False
        self._stats["socket_replies"] += 1
        return True

    async def _push(self, chatid: str, *, single: bool, text: str, mentions: tuple[str, ...] = ()) -> None:
        """``aibot_send_msg``: markdown into a group (or to a member) on the bot's own initiative."""
        assert self._longconn is not None
        payloads = markdown_payloads(text, mentions)
        await self._pushes.reserve(chatid, len(payloads), self._settings.max_send_wait_seconds, self._sleep)
        for index, payload in enumerate(payloads):
            try:
                await self._longconn.send({"chatid": chatid, "chat_type": 1 if single else 2, **payload})
            except LongConnError as exc:
                self._pushes.release(chatid, len(payloads) - index)
                if isinstance(exc, NotConnected):
                    raise WeComSendError(f"aibot_send_msg to {chatid}: {exc}", retry_after=30.0) from exc
                raise WeComSendError(f"aibot_send_msg to {chatid}: {exc}", retry_after=60.0) from exc
            self._stats["socket_pushes"] += 1

    def _can_push(self) -> bool:
        return self._longconn is not None and self._longconn.connected

    async def _say(self, message: Say) -> None:
        pending = self._take_pending(message.chat_id)
        if pending is not None and await self._via_response_url(pending, message.text, message.mentions):
            return
        key = self._settings.webhooks.get(message.chat_id)
        if key is not None and self._webhooks is not None:
            await self._webhooks.send(message.chat_id, key, markdown_payloads(message.text, message.mentions))
            return
        if self._can_push():
            await self._push(message.chat_id, single=False, text=message.text, mentions=message.mentions)
            return
        recipients = message.mentions or ((pending.sender,) if pending else ())
        if self._api is None or not recipients:
            raise WeComSendError(
                f"no way to reach chat {message.chat_id}: no fresh response_url, webhook or app recipient",
                permanent=True,
            )
        self._stats["fallbacks"] += 1
        for userid in recipients:
            await self._send_direct(userid, message.text, allow_response_url=False)

    async def _send_direct(self, userid: str, text: str, *, allow_response_url: bool = True) -> None:
        if allow_response_url:
            pending = self._take_pending(f"dm:{userid}")
            if pending is not None and await self._via_response_url(pending, text, ()):
                return
        if self._api is None:
            if self._longconn is not None:
                await self._push(userid, single=True, text=text)
                return
            raise WeComSendError("wecom app is not configured: cannot message members", permanent=True)
        await self._api.send_text(userid, split_text(text, APP_TEXT_LIMIT))

    async def _send_image(self, message: SendImage) -> None:
        key = self._settings.webhooks.get(message.chat_id)
        if key is None or self._webhooks is None:
            raise WeComSendError(f"images need a robot webhook for chat {message.chat_id}", permanent=True)
        try:
            data = await asyncio.to_thread(Path(message.path).read_bytes)
            payloads: list[dict[str, Any]] = []
            if message.caption:
                payloads += markdown_payloads(message.caption)
            payloads.append(image_payload(data))
        except (OSError, PayloadError) as exc:
            raise WeComSendError(f"image {message.path}: {exc}", permanent=True) from exc
        await self._webhooks.send(message.chat_id, key, payloads)


__all__ = ["AIBOT_PATH", "APP_PATH", "WeComAdapter"]
