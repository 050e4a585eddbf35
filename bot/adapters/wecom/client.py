"""Outbound WeCom HTTP: access tokens, app messages, ``response_url`` replies and robot webhooks.

WeCom drops app messages beyond 30 a minute or 1000 an hour per member *silently* (the API still
answers ``errcode 0``), and refuses webhook posts beyond 20 a minute per robot. linli therefore keeps
its own sliding-window budget per member and per robot: a send waits for a free slot for at most
``max_wait`` seconds and otherwise raises :class:`WeComSendError` with ``retry_after`` so that the
core outbox can retry later. Nothing is dropped here.

Secrets (corp secret, access token, webhook keys) only ever travel in request URLs; log lines name
the API path and the error code, never a URL with its query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.adapters.base import SendError
from bot.adapters.ratelimit import Clock, Sleep, SlidingWindowLimiter, Window

log = logging.getLogger(__name__)


TOKEN_EXPIRED = frozenset({40014, 42001})
"""不合法的access_token / access_token已过期: refetch the token once and retry."""
BUSY = frozenset({-1, 45009, 45033})
"""系统繁忙, 接口调用超过限制, 接口并发调用超过限制: retry later."""
PERMANENT = frozenset(
    {40001, 40008, 40013, 40091, 41001, 44004, 45002, 48002, 60011, 60020, 81013, 93000, 93004, 93008}
)
"""Configuration errors and bugs: retrying the same request cannot help."""
WEBHOOK_GONE = frozenset({93000, 93004, 93008})

APP_TEXT_LIMIT = 2048
"""Bytes of UTF-8 in one app text message (``message/send``)."""


class WeComApiError(Exception):
    """WeCom answered with a non-zero ``errcode``."""

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        super().__init__(f"{api}: errcode {errcode} {errmsg}")


class WeComSendError(SendError):
    """A WeCom send failed; ``retry_after`` and ``permanent`` guide the outbox (see SendError)."""


def send_error_from(exc: WeComApiError) -> WeComSendError:
    if exc.errcode in BUSY:
        return WeComSendError(str(exc), retry_after=60.0)
    return WeComSendError(str(exc), permanent=exc.errcode in PERMANENT)


# -- budgets ------------------------------------------------------------------------------------


# -- access token -------------------------------------------------------------------------------


class AccessTokenCache:
    """Caches the app's access token and refreshes it once for many concurrent callers."""

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, int]]], clock: Clock, margin: float = 300.0) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> bool:
        return bool(self._token) and self._clock() < self._expires_at

    async def get(self) -> str:
        if self._fresh():
            return self._token
        async with self._lock:
            if not self._fresh():  # somebody else may have refreshed while we waited
                token, expires_in = await self._fetch()
                self.fetches += 1
                self._token = token
                self._expires_at = self._clock() + max(expires_in - self._margin, expires_in / 2)
            return self._token

    def invalidate(self, stale: str) -> None:
        """Forget ``stale`` if it is still the cached token (a concurrent refresh may have replaced it)."""
        if self._token == stale:
            self._token = ""
            self._expires_at = 0.0


# -- the HTTP clients ---------------------------------------------------------------------------


async def _post_json(session: aiohttp.ClientSession, url: str, payload: dict[str, Any], api: str) -> dict[str, Any]:
    try:
        async with session.post(url, json=payload) as resp:
            if resp.status != 200:
                raise WeComSendError(f"{api}: HTTP {resp.status}", retry_after=30.0)
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise WeComSendError(f"{api}: {type(exc).__name__}", retry_after=30.0) from exc
    if not isinstance(data, dict):
        raise WeComSendError(f"{api}: answer is not a JSON object", retry_after=30.0)
    errcode = data.get("errcode", 0)
    if errcode != 0:
        raise WeComApiError(int(errcode), str(data.get("errmsg", "")), api)
    return data


class WeComApiClient:
    """The self-built app's server API: ``gettoken`` and ``message/send`` (text)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        corp_id: str,
        secret: SecretStr,
        agent_id: int,
        per_minute: int = 30,
        per_hour: int = 1000,
        max_wait: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._session = session
        self._base = api_base.rstrip("/")
        self._corp_id = corp_id
        self._secret = secret
        self._agent_id = agent_id
        self._max_wait = max_wait
        self._sleep = sleep
        self.tokens = AccessTokenCache(self._fetch_token, clock)
        self.members = SlidingWindowLimiter([Window(per_minute, 60.0), Window(per_hour, 3600.0)], clock)
        self.sent = 0
        self.last_error = ""

    async def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self._corp_id, "corpsecret": self._secret.get_secret_value()}
        try:
            async with self._session.get(f"{self._base}/cgi-bin/gettoken", params=params) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeComSendError(f"gettoken: {type(exc).__name__}", retry_after=30.0) from exc
        errcode = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
        if errcode != 0 or not data.get("access_token"):
            self.last_error = f"gettoken errcode {errcode}"
            log.error(
                "wecom gettoken failed: errcode %s %s",
                errcode,
                data.get("errmsg", "") if isinstance(data, dict) else "",
            )
            raise send_error_from(WeComApiError(errcode, "", "gettoken"))
        return str(data["access_token"]), int(data.get("expires_in", 7200))

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST to ``/cgi-bin/<path>`` with the access token; refetch the token once on 40014/42001."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            url = f"{self._base}/cgi-bin/{path}?access_token={token}"
            try:
                return await _post_json(self._session, url, payload, path)
            except WeComApiError as exc:
                if exc.errcode in TOKEN_EXPIRED and attempt == 1:
                    log.info("wecom %s: access token refused (errcode %s), refetching", path, exc.errcode)
                    self.tokens.invalidate(token)
                    continue
                self.last_error = f"{path} errcode {exc.errcode}"
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_text(self, touser: str, chunks: list[str]) -> None:
        """Send ``chunks`` as consecutive text messages to one member, within that member's budget."""
        await self.members.reserve(touser, len(chunks), self._max_wait, self._sleep)
        for index, chunk in enumerate(chunks):
            payload = {
                "touser": touser,
                "msgtype": "text",
                "agentid": self._agent_id,
                "text": {"content": chunk},
                "safe": 0,
            }
            try:
                result = await self.call("message/send", payload)
            except WeComApiError as exc:
                self.members.release(touser, len(chunks) - index)
                raise send_error_from(exc) from exc
            except SendError:
                self.members.release(touser, len(chunks) - index)
                raise
            if result.get("invaliduser"):
                raise WeComSendError(f"message/send: invalid user {touser}", permanent=True)
            self.sent += 1


class WebhookClient:
    """Group robot webhooks (``webhook/send?key=…``), each with its own 20/min budget."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        per_minute: int = 20,
        max_wait: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._session = session
        self._base = api_base.rstrip("/")
        self._max_wait = max_wait
        self._sleep = sleep
        self.robots = SlidingWindowLimiter([Window(per_minute, 60.0)], clock)
        self.sent = 0
        self.last_error = ""

    async def send(self, name: str, key: SecretStr, payloads: list[dict[str, Any]]) -> None:
        """Post ``payloads`` in order to the robot ``name`` (its key stays out of every log line)."""
        await self.robots.reserve(name, len(payloads), self._max_wait, self._sleep)
        url = f"{self._base}/cgi-bin/webhook/send?key={key.get_secret_value()}"
        for index, payload in enumerate(payloads):
            try:
                await _post_json(self._session, url, payload, "webhook/send")
            except WeComApiError as exc:
                self.robots.release(name, len(payloads) - index)
                self.last_error = f"webhook {name} errcode {exc.errcode}"
                if exc.errcode in WEBHOOK_GONE:
                    log.error("wecom webhook %s is gone (errcode %s): fix the settings", name, exc.errcode)
                raise send_error_from(exc) from exc
            except SendError:
                self.robots.release(name, len(payloads) - index)
                raise
            self.sent += 1


async def post_response_url(session: aiohttp.ClientSession, url: str, payload: dict[str, Any]) -> None:
    """Answer an AI-bot message through its one-time ``response_url``; raises ``WeComApiError``."""
    await _post_json(session, url, payload, "aibot/response")
