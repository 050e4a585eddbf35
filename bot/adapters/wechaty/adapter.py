"""Personal WeChat groups through a wechaty puppet service: translate, send paced, stay connected.

The adapter speaks the puppet-service gRPC protocol through ``wechaty_puppet_service`` (one layer below
``wechaty.Wechaty``). The high-level ``Wechaty`` class is not used because, for a long-running service,
it hides exactly what we must see: its ``start()`` prints UNAUTHENTICATED and returns, sleeps 60 s after
a lost stream, stops the event loop on a puppet error, swallows replayed message ids in a process-wide
set, keeps contacts and rooms in class-level pools shared by every bot (the second bot of a process
reuses objects bound to the first one's closed loop), and binds a plugin web server to 0.0.0.0:5000.
One level down none of that exists, so there is no pool to clear between bots.

Flow: the puppet's event stream pushes message ids into a queue; one consumer task fetches each payload
in order, translates it and awaits the core's ``feed``. A supervisor task owns the connection: when the
stream ends it reconnects promptly with a capped exponential backoff, forever, visible in ``health()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import web

from bot.adapters.base import AdapterStartError, Feed, SendError
from bot.adapters.textsplit import split_text
from bot.adapters.wechaty.limiter import ConversationLimiters
from bot.adapters.wechaty.translate import (
    clip,
    content_type,
    mention_prefix,
    mentions_name,
    message_time,
    strip_mentions,
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
from config.settings import WechatySettings

log = logging.getLogger(__name__)

T = TypeVar("T")
PuppetFactory = Callable[[], Any]

NAME_CACHE_SECONDS = 300.0
NAME_CACHE_SIZE = 20_000
"""Names and topics remembered; the least recently used are forgotten past this."""
QR_VIEWER = "https://wechaty.js.org/qrcode/"
"""Where wechaty's own tools show a login QR code's value as an image."""
PROBE_TIMEOUT_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 5.0
PAYLOAD_ATTEMPTS = 3
TEXT_LIMIT_BYTES = 4000
"""A longer text goes as several messages: WeChat folds very long ones, and some puppets refuse them."""


class ConnectionLost(Exception):
    """The puppet service's event stream ended."""


def _status_name(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return str(getattr(status, "name", "")) if status is not None else ""


def _is_service_answer(exc: BaseException) -> bool:
    """True when the service answered with an error (so retrying on a new connection will not help)."""
    return type(exc).__name__ == "GRPCError"


def _describe(exc: BaseException) -> str:
    status = _status_name(exc)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first_line = str(message).splitlines()[0] if str(message) else type(exc).__name__
    return f"{type(exc).__name__}{f' {status}' if status else ''}: {first_line}"[:300]


class WechatyAdapter:
    """The ``wechaty`` platform: rooms and direct messages of one personal WeChat account."""

    platform: str = Platform.WECHATY.value

    def __init__(
        self,
        settings: WechatySettings,
        *,
        max_text_chars: int = 10_000,
        puppet_factory: PuppetFactory | None = None,
    ) -> None:
        """``puppet_factory`` replaces the gRPC client (tests pass wechaty's fake puppet); without it the
        adapter connects to ``settings.endpoint`` and probes it first."""
        self.settings = settings
        self.max_text_chars = max_text_chars
        self._factory = puppet_factory
        self._limiters = ConversationLimiters(
            (settings.account_limit.per_second, settings.account_limit.per_minute),
            (settings.room_limit.per_second, settings.room_limit.per_minute),
        )
        self._feed: Feed | None = None
        self._puppet: Any = None
        self._self_id = ""
        self._self_name: str | None = None
        self._connected = asyncio.Event()
        self._started: asyncio.Future[None] | None = None
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[str] = asyncio.Queue(maxsize=settings.inbox_size)
        self._names: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._seen_rooms: set[str] = set()
        self._qrcode_shown = ""
        self._reconnects = 0
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._counts = {"received": 0, "ignored": 0, "sent": 0, "send_failed": 0, "inbox_refused": 0}

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, feed: Feed) -> None:
        """Connect and wait for the account's login; AdapterStartError within the connect timeout."""
        if self._supervisor is not None:
            raise RuntimeError("WechatyAdapter.start() called twice")
        if self._factory is None and not self.settings.endpoint:
            raise AdapterStartError("wechaty: no puppet-service endpoint (set LINLI_WECHATY__ENDPOINT)")
        self._feed = feed
        self._stopping = False
        self._started = asyncio.get_running_loop().create_future()
        timeout = self.settings.connect_timeout_seconds
        log.info("wechaty: connecting to %s", self.settings.endpoint or "an injected puppet")
        self._consumer = asyncio.create_task(self._consume(), name="wechaty-consume")
        self._supervisor = asyncio.create_task(self._supervise(), name="wechaty-supervise")
        try:
            await asyncio.wait_for(asyncio.shield(self._started), timeout)
        except TimeoutError:
            await self.stop()
            hint = f"; last error: {self._last_error}" if self._last_error else ""
            raise AdapterStartError(
                f"wechaty: no login from {self.settings.endpoint} within {timeout:g}s "
                f"(wrong token, or the account is not logged in at the provider){hint}"
            ) from None
        except AdapterStartError:
            await self.stop()
            raise
        log.info("wechaty: logged in as %s", self._self_id)

    async def stop(self) -> None:
        """Disconnect without stopping the provider's puppet (the account stays logged in there).

        No new message is taken from the puppet once stopping; those already taken are stored first, for
        up to ``stop_drain_seconds``; any left after that are named in the log."""
        self._stopping = True
        await self._cancel(self._supervisor)
        self._supervisor = None
        consumer, self._consumer = self._consumer, None
        if consumer is not None and not consumer.done() and self._feed is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained(), self.settings.stop_drain_seconds)
        await self._cancel(consumer)
        left = []
        while not self._inbox.empty():
            left.append(self._inbox.get_nowait())
        if left:
            log.error("wechaty: stopped with %d message(s) not stored: %s", len(left), ", ".join(left[:50]))
        await self._drop(self._puppet)
        self._puppet = None
        self._connected.clear()
        if self._started is not None and not self._started.done():
            self._started.cancel()

    async def _drained(self) -> None:
        await self._inbox.join()

    @staticmethod
    async def _cancel(task: asyncio.Task[None] | None) -> None:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def health(self) -> dict[str, object]:
        return {
            "platform": self.platform,
            "endpoint": self.settings.endpoint,
            "connected": self._connected.is_set(),
            "logged_in_as": self._self_id or None,
            "reconnects": self._reconnects,
            "last_error": self._last_error,
            "last_error_at": self._last_error_at.isoformat() if self._last_error_at else None,
            "inbox": self._inbox.qsize(),
            **self._counts,
        }

    def web_routes(self) -> list[web.RouteDef]:
        return []

    # -- connection ------------------------------------------------------------------------------------

    def _describe(self, exc: BaseException) -> str:
        """One line about ``exc`` with the token masked (puppet-service 1.x echoes a wrong token back)."""
        text = _describe(exc)
        token = self.settings.token.get_secret_value()
        return text.replace(token, "***") if token else text

    def _note_error(self, text: str) -> None:
        self._last_error = text
        self._last_error_at = datetime.now(UTC)

    async def _probe(self) -> None:
        """Refuse fast when nothing listens at the endpoint (the library would block the loop for 3 s)."""
        from wechaty_puppet_service.utils import extract_host_and_port

        host, port = extract_host_and_port(self.settings.endpoint)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach {host}:{port}: {exc or 'timeout'}") from exc
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    def _new_puppet(self) -> Any:
        if self._factory is not None:
            return self._factory()
        from bot.adapters.wechaty.compat import make_puppet_service

        return make_puppet_service(self.settings.endpoint, self.settings.token.get_secret_value())

    async def _supervise(self) -> None:
        delay = self.settings.reconnect_initial_seconds
        while not self._stopping:
            try:
                if self._factory is None:
                    await self._probe()
                self._puppet = self._new_puppet()
                self._wire(self._puppet)
                await self._puppet.start()  # returns or raises when the event stream ends
                raise ConnectionLost("the event stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                text = self._describe(exc)
                self._note_error(text)
                was_connected = self._connected.is_set()
                self._connected.clear()
                await self._drop(self._puppet)
                self._puppet = None
                if self._started is not None and not self._started.done():
                    reason = "wrong token" if _status_name(exc) == "UNAUTHENTICATED" else "cannot connect"
                    self._started.set_exception(
                        AdapterStartError(f"wechaty: {reason} at {self.settings.endpoint}: {text}")
                    )
                    return
                if self._stopping:
                    return
                if was_connected:  # a connection that worked: start the backoff afresh
                    delay = self.settings.reconnect_initial_seconds
                self._reconnects += 1
                log.warning("wechaty: connection lost (%s); reconnect #%d in %.1fs", text, self._reconnects, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_max_seconds)

    def _wire(self, puppet: Any) -> None:
        puppet.on("login", self._on_login)
        puppet.on("logout", self._on_logout)
        puppet.on("message", self._on_message)
        puppet.on("error", self._on_error)
        puppet.on("scan", self._on_scan)
        for event in ("room-topic", "room-join", "room-leave"):
            puppet.on(event, self._on_room_change)

    async def _drop(self, puppet: Any) -> None:
        if puppet is None:
            return
        try:
            await asyncio.wait_for(puppet.stop(), STOP_TIMEOUT_SECONDS)
        except Exception as exc:  # closing a dead connection may fail in many ways; none matters
            log.debug("wechaty: closing the old connection: %s", self._describe(exc))

    # puppet events arrive as plain callbacks: record and hand over, never raise into the emitter

    def _on_login(self, payload: Any) -> None:
        self._self_id = str(payload.contact_id)
        self._names.clear()  # names may have changed while we were away
        self._self_name = None
        if self._reconnects:
            log.info("wechaty: reconnected as %s (reconnects: %d)", self._self_id, self._reconnects)
        self._connected.set()
        if self._started is not None and not self._started.done():
            self._started.set_result(None)

    def _on_logout(self, payload: Any) -> None:
        self._connected.clear()
        self._note_error(f"logged out: {getattr(payload, 'data', '') or 'by the provider'}")
        log.warning("wechaty: the account %s was logged out at the provider", payload.contact_id)

    def _on_message(self, payload: Any) -> None:
        message_id = str(payload.message_id)
        if self._stopping:
            log.warning("wechaty: message %s arrived while stopping; not taken", message_id)
            return
        try:
            self._inbox.put_nowait(message_id)
        except asyncio.QueueFull:
            self._counts["inbox_refused"] += 1
            log.error("wechaty: inbox full (%d waiting); message %s refused", self._inbox.qsize(), message_id)

    def _on_error(self, payload: Any) -> None:
        text = str(getattr(payload, "data", payload))[:300]
        if text:
            self._note_error(f"puppet error: {text}")
            log.warning("wechaty: puppet error: %s", text)

    def _on_scan(self, payload: Any) -> None:
        """The account needs a login. The QR code is a credential: it goes once to the operator's terminal
        as a URL (to open and scan), never into the logs, which are kept and shipped elsewhere."""
        status = getattr(getattr(payload, "status", None), "name", getattr(payload, "status", ""))
        qrcode = str(getattr(payload, "qrcode", None) or "")
        log.warning("wechaty: the account is not logged in at the provider (scan status %s)", status)
        if qrcode and qrcode != self._qrcode_shown:
            self._qrcode_shown = qrcode
            url = qrcode if qrcode.startswith(("http://", "https://")) else QR_VIEWER + quote(qrcode, safe="")
            sys.stderr.write(f"wechaty: scan to log in (shown once, not logged): {url}\n")
            sys.stderr.flush()

    def _on_room_change(self, payload: Any) -> None:
        room_id = str(getattr(payload, "room_id", "") or "")
        for key in [k for k in self._names if k[0] == room_id]:
            del self._names[key]

    async def _with_puppet(self, call: Callable[[Any], Awaitable[T]], wait: float) -> T:
        """Run ``call(puppet)``; on a broken connection wait for the reconnect and try again."""
        last: BaseException | None = None
        for _ in range(PAYLOAD_ATTEMPTS):
            if not self._connected.is_set():
                try:
                    await asyncio.wait_for(self._connected.wait(), wait)
                except TimeoutError:
                    raise ConnectionError("not connected to the puppet service") from last
            try:
                return await call(self._puppet)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if _is_service_answer(exc):
                    raise
                last = exc
                await asyncio.sleep(0.05)
        assert last is not None
        raise last

    # -- inbound ---------------------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            message_id = await self._inbox.get()
            try:
                await self._take(message_id)
            finally:
                self._inbox.task_done()

    async def _take(self, message_id: str) -> None:
        try:
            message = await self._translate(message_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._counts["ignored"] += 1
            log.error("wechaty: cannot read message %s: %s", message_id, self._describe(exc))
            return
        if message is None:
            return
        self._counts["received"] += 1
        assert self._feed is not None
        delay = min(0.5, self.settings.store_retry_seconds)
        while True:
            try:
                await self._feed(message)
                return
            except asyncio.CancelledError:
                raise
            except NotStored as exc:
                # The puppet will not give this message again: keep offering it until the core takes it.
                log.warning("wechaty: message %s not stored (%s); again in %.1fs", message_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.store_retry_seconds)
            except Exception:
                log.exception("wechaty: the core failed on message %s", message_id)
                return

    async def _translate(self, message_id: str) -> IncomingMessage | None:
        wait = max(self.settings.send_wait_seconds, self.settings.connect_timeout_seconds)
        payload = await self._with_puppet(lambda p: p.message_payload(message_id), wait)
        if payload is None:
            raise LookupError("the puppet has no payload for it")
        talker = str(payload.from_id or "")
        room_id = str(payload.room_id or "")
        where = room_id or DIRECT_CHAT
        type_name = str(getattr(payload.type, "name", payload.type))
        kind = content_type(type_name)
        if talker and talker == self._self_id:
            self._counts["ignored"] += 1
            log.debug("wechaty: ignoring our own message %s in %s", message_id, where)
            return None
        if kind not in self.settings.forward_content_types:
            self._counts["ignored"] += 1
            log.info("wechaty: ignoring a %s message %s from %s in %s", kind, message_id, talker, where)
            return None
        text = str(payload.text or "") if kind == "text" else ""
        text, clipped = clip(text, self.max_text_chars)
        if clipped:
            log.warning(
                "wechaty: message %s was %d characters; kept the first %d",
                message_id,
                len(payload.text),
                self.max_text_chars,
            )
        when = message_time(int(payload.timestamp or 0))
        mentions = tuple(str(m) for m in (payload.mention_ids or ()) if m)
        if not room_id:
            return IncomingMessage(
                platform=self.platform,
                chat_id=DIRECT_CHAT,
                chat_name="",
                sender_id=talker,
                sender_name=await self._contact_name(talker),
                text=text.strip(),
                message_id=message_id,
                time=when,
                content_type=kind,
            )
        topic = await self._room_topic(room_id)
        if room_id not in self._seen_rooms:
            if len(self._seen_rooms) >= NAME_CACHE_SIZE:
                self._seen_rooms.clear()  # only for the first-message log line
            self._seen_rooms.add(room_id)
            log.info("wechaty: first message from room %s (%s)", room_id, topic or "no topic")
        self_name = await self._own_name()
        mention_self = (bool(self._self_id) and self._self_id in mentions) or mentions_name(text, self_name)
        names = [await self._member_name(room_id, m) for m in mentions]
        names += [await self._contact_name(m) for m in mentions]
        if mention_self:
            names.append(self_name)
        return IncomingMessage(
            platform=self.platform,
            chat_id=room_id,
            chat_name=topic,
            sender_id=talker,
            sender_name=await self._member_name(room_id, talker) or await self._contact_name(talker),
            text=strip_mentions(text, names),
            message_id=message_id,
            time=when,
            mentions=mentions,
            content_type=kind,
        )

    async def _cached(self, key: tuple[str, str], load: Callable[[Any], Awaitable[Any]], pick: str) -> str:
        """A name or topic from the puppet, cached for a while; "" when the puppet cannot tell."""
        hit = self._names.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < NAME_CACHE_SECONDS:
            return hit[1]
        try:
            payload = await self._with_puppet(load, self.settings.send_wait_seconds)
            value = str(getattr(payload, pick, "") or "") if payload is not None else ""
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("wechaty: no %s for %s: %s", pick, key[1], self._describe(exc))
            value = ""
        self._names[key] = (now, value)
        self._names.move_to_end(key)
        while len(self._names) > NAME_CACHE_SIZE:
            self._names.popitem(last=False)
        return value

    async def _contact_name(self, contact_id: str) -> str:
        if not contact_id:
            return ""
        return await self._cached(("", contact_id), lambda p: p.contact_payload(contact_id), "name")

    async def _member_name(self, room_id: str, contact_id: str) -> str:
        """The member's nickname in this room (群昵称), if set."""
        if not contact_id:
            return ""
        return await self._cached(
            (room_id, contact_id), lambda p: p.room_member_payload(room_id, contact_id), "room_alias"
        )

    async def _room_topic(self, room_id: str) -> str:
        return await self._cached((room_id, ""), lambda p: p.room_payload(room_id), "topic")

    async def _own_name(self) -> str:
        if self._self_name is None and self._self_id:
            self._self_name = await self._contact_name(self._self_id)
        return self._self_name or ""

    # -- outbound --------------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        """Send one message, paced by the account and conversation limits; SendError on failure."""
        if message.platform != self.platform:
            raise SendError(f"wechaty: cannot send a {message.platform} message")
        if isinstance(message, Say):
            target = message.chat_id
        elif isinstance(message, DirectMessage):
            target = message.to
        else:
            target = message.chat_id
        if not target or target == DIRECT_CHAT:
            raise SendError(f"wechaty: no conversation to send to ({target!r}); DMs need the contact id")
        try:
            if isinstance(message, Say):
                await self._say(target, message.text, message.mentions)
            elif isinstance(message, DirectMessage):
                await self._send_text(target, message.text, ())
            else:
                await self._send_image(message)
        except SendError:
            self._counts["send_failed"] += 1
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._counts["send_failed"] += 1
            raise SendError(f"wechaty: sending to {target} failed: {self._describe(exc)}") from exc
        self._counts["sent"] += 1

    async def _say(self, room_id: str, text: str, mentions: tuple[str, ...]) -> None:
        """WeChat highlights a mention when the id is in the list *and* ``@name`` is in the text: add the
        ``@name`` of each mentioned person the text does not already show (the core may write it)."""
        names = []
        for contact_id in mentions:
            name = await self._member_name(room_id, contact_id) or await self._contact_name(contact_id)
            if not mentions_name(text, name):
                names.append(name)
        await self._send_text(room_id, mention_prefix(names) + text, mentions)

    async def _send_text(self, conversation: str, text: str, mentions: tuple[str, ...]) -> None:
        """One message, or several (the mentions on the first) when the text is longer than WeChat takes."""
        if not text.strip():
            raise SendError("wechaty: refusing to send an empty message")
        mention_ids = list(mentions) or None
        first = True
        for chunk in split_text(text, TEXT_LIMIT_BYTES):
            # pace right before the call, after any name lookups, so the spacing is what WeChat sees
            # only the first part may be handed back to the outbox: after it, the rest must follow
            await self._limiters.acquire(conversation, self.settings.max_send_wait_seconds if first else None)
            first = False
            await self._with_puppet(
                self._text_sender(conversation, chunk, mention_ids), self.settings.send_wait_seconds
            )
            mention_ids = None

    @staticmethod
    def _text_sender(conversation: str, text: str, mention_ids: list[str] | None) -> Callable[[Any], Awaitable[Any]]:
        return lambda puppet: puppet.message_send_text(conversation, text, mention_ids)

    async def _send_image(self, message: SendImage) -> None:
        path = Path(message.path)
        if not await asyncio.to_thread(path.is_file):
            raise SendError(f"wechaty: image {path} does not exist")
        from wechaty_puppet import FileBox

        box = await asyncio.to_thread(FileBox.from_file, str(path))
        await self._limiters.acquire(message.chat_id, self.settings.max_send_wait_seconds)
        try:
            await self._with_puppet(
                lambda p: p.message_send_file(message.chat_id, box), self.settings.send_wait_seconds
            )
        except Exception as exc:
            if _status_name(exc) == "UNIMPLEMENTED":
                raise SendError(
                    "wechaty: this puppet service cannot send images; send the caption or a link instead"
                ) from exc
            raise
        if message.caption.strip():
            await self._send_text(message.chat_id, message.caption, ())
