"""Signing in to the desk: argon2 passwords, server-side sessions that expire, CSRF tokens, a login limit.

The session cookie holds a random secret; the database keeps only its SHA-256. Every form carries the
session's CSRF token; the login form, before any session exists, a double-submit cookie. Failed logins
are limited per user name and per client address. Passwords and cookies are never logged.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.texts import desk as texts
from bot.web.credentials import digest, new_secret, same, verify_password
from bot.web.deps import deps
from bot.web.scope import Scope, scope_of
from storage.desk_repo import DeskRepo

log = logging.getLogger(__name__)

SESSION_COOKIE = "linli_session"
LOGIN_COOKIE = "linli_login"
TOUCH_EVERY = timedelta(seconds=60)
PUBLIC = ("login", "static")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class DeskUser:
    scope: Scope
    csrf: str
    session: str
    """The session's hash (never the cookie's secret)."""


USER_KEY: web.RequestKey[DeskUser] = web.RequestKey("linli_desk_user", DeskUser)


def desk_user(request: web.Request) -> DeskUser:
    if USER_KEY not in request:
        raise web.HTTPFound(str(request.app.router["login"].url_for()))
    return request[USER_KEY]


class LoginLimiter:
    """At most ``attempts`` failed logins per user name, and four times as many per address, per window."""

    def __init__(self, attempts: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        seen = self._failures.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    def blocked(self, name: str, address: str) -> bool:
        return len(self._recent("u:" + name)) >= self.attempts or len(self._recent("a:" + address)) >= self.attempts * 4

    def failed(self, name: str, address: str) -> None:
        for key in ("u:" + name, "a:" + address):
            self._recent(key).append(self.clock())
        if len(self._failures) > 10_000:  # forget idle keys so a scan of names cannot grow memory for ever
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]

    def succeeded(self, name: str) -> None:
        self._failures.pop("u:" + name, None)


LIMITER_KEY: web.AppKey[LoginLimiter] = web.AppKey("linli_login_limiter", LoginLimiter)


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/desk/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )


def safe_next(raw: str | None) -> str:
    """Only a path inside the desk: never another host, never a scheme."""
    if not raw:
        return "/desk/tickets"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk/") or raw.startswith("//"):
        return "/desk/tickets"
    return raw


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the signed-in user; send anyone else to the login page; check CSRF on every POST."""
    resource = request.match_info.route.resource
    name = (resource.name if resource is not None else None) or ""
    if name in PUBLIC or name.startswith("static"):
        return await handler(request)
    d = deps(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    user: DeskUser | None = None
    if secret:
        now = d.clock()
        async with d.sessions.begin() as session:
            repo = DeskRepo(session)
            found = await repo.find_session(digest(secret), now, timedelta(minutes=d.settings.desk.idle_minutes))
            if found is not None:
                row, login = found
                scope = await scope_of(session, login)
                if scope is not None:
                    if now - row.last_seen_at >= TOUCH_EVERY:
                        await repo.touch_session(row, now)
                    user = DeskUser(scope, row.csrf, row.token_hash)
    if user is None:
        login_url = request.app.router["login"].url_for().with_query({"next": request.path_qs})
        if request.method != "GET":
            raise web.HTTPForbidden(text=texts.SESSION_EXPIRED)
        raise web.HTTPFound(str(login_url))
    if request.method == "POST":
        await check_csrf(request, user.csrf)
    request[USER_KEY] = user
    return await handler(request)


def check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text=texts.FOREIGN_ORIGIN)


async def check_csrf(request: web.Request, expected: str) -> None:
    check_origin(request)
    form = await request.post()
    given = str(form.get("_csrf", "")) or request.headers.get("X-CSRF-Token", "")
    if not given or not same(given, expected):
        raise web.HTTPForbidden(text=texts.PAGE_EXPIRED)


async def sign_in(request: web.Request, name: str, password: str) -> str | None:
    """Open a session and return the cookie's secret, or None if the name or password is wrong."""
    d = deps(request)
    async with d.sessions.begin() as session:
        repo = DeskRepo(session)
        user = await repo.user(name)
        ok = verify_password(user.password_hash if user is not None else None, password)
        login = await repo.login(user) if ok and user is not None else None
        if login is None or await scope_of(session, login) is None:
            return None
        assert user is not None
        secret = new_secret()
        lifetime = timedelta(hours=d.settings.desk.session_hours)
        await repo.purge_sessions(d.clock())
        await repo.open_session(user, digest(secret), new_secret(), d.clock(), lifetime)
        return secret


async def sign_out(request: web.Request) -> None:
    d = deps(request)
    async with d.sessions.begin() as session:
        await DeskRepo(session).close_session(desk_user(request).session)


def client_address(request: web.Request) -> str:
    return request.remote or "?"


def login_redirect(request: web.Request) -> str:
    return "/desk/login?next=" + quote(request.path_qs)
