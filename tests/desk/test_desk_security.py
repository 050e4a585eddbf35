"""The desk's defences: sessions that end, CSRF, the login limit, cookies, proxies, no secrets in logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.web.deps import WebDeps
from bot.web.desk.auth import LOGIN_COOKIE, SESSION_COOKIE, LoginLimiter, safe_next
from bot.web.site import create_site
from config.settings import HttpSettings
from tests.desk.conftest import PASSWORD, World, csrf_of, login

Client = TestClient[Any, Any]


async def test_a_session_ends_when_idle_and_at_its_lifetime(client: Client, world: World) -> None:
    await login(client, "chen")
    idle = timedelta(minutes=world.settings.desk.idle_minutes)
    world.clock.now += idle - timedelta(minutes=1)
    assert (await client.get("/desk/tickets", allow_redirects=False)).status == 200
    world.clock.now += idle + timedelta(seconds=1)
    response = await client.get("/desk/tickets", allow_redirects=False)
    assert response.status == 302
    await login(client, "chen")
    for _ in range(int(world.settings.desk.session_hours * 60 / 50) + 1):  # busy, never idle
        world.clock.now += timedelta(minutes=50)
        if (await client.get("/desk/points", allow_redirects=False)).status == 302:
            break
    else:
        pytest.fail("the session outlived its lifetime")


async def test_posts_without_the_csrf_token_or_from_another_origin_are_refused(client: Client, world: World) -> None:
    token = await login(client, "chen")
    assert (await client.post("/desk/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.post("/desk/logout", data={"_csrf": "forged"}, allow_redirects=False)).status == 403
    cross = await client.post(
        "/desk/logout", data={"_csrf": token}, headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert cross.status == 403
    assert (await client.get("/desk/tickets", allow_redirects=False)).status == 200  # still signed in
    assert (await client.post("/desk/logout", data={"_csrf": token}, allow_redirects=False)).status == 302
    assert (await client.get("/desk/tickets", allow_redirects=False)).status == 302


async def test_the_login_form_has_its_own_csrf_check(client: Client) -> None:
    response = await client.post("/desk/login", data={"name": "chen", "password": PASSWORD, "_csrf": "x"})
    assert response.status == 403


async def test_logins_are_limited_per_name_and_passwords_never_logged(
    client: Client, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = csrf_of(await (await client.get("/desk/login")).text())
    for _ in range(world.settings.desk.login_attempts):
        bad = await client.post("/desk/login", data={"name": "chen", "password": "guess-123456", "_csrf": token})
        assert bad.status == 401
        assert "用户名或密码不正确" in await bad.text()
    blocked = await client.post("/desk/login", data={"name": "chen", "password": PASSWORD, "_csrf": token})
    assert blocked.status == 429
    assert "尝试次数过多" in await blocked.text()
    assert await login(client, "li")  # another name is not blocked
    assert "guess-123456" not in caplog.text
    assert PASSWORD not in caplog.text
    assert world.tokens["chen"] not in caplog.text


def test_the_limiter_forgets_after_the_window() -> None:
    now = [0.0]
    limiter = LoginLimiter(2, 60, clock=lambda: now[0])
    limiter.failed("a", "1.2.3.4")
    limiter.failed("a", "1.2.3.4")
    assert limiter.blocked("a", "1.2.3.4")
    now[0] = 61
    assert not limiter.blocked("a", "1.2.3.4")
    for n in range(8):
        limiter.failed(f"user{n}", "5.6.7.8")
    assert limiter.blocked("someone-new", "5.6.7.8")  # one address trying many names


async def test_session_cookie_is_httponly_samesite_and_secure_only_over_tls(world: World) -> None:
    for trust, proto, secure in ((False, "https", False), (True, "https", True), (True, "http", False)):
        world.settings.http = HttpSettings(trust_forwarded=trust)
        app = create_site(WebDeps(world.settings, world.store.sessions, clock=world.clock))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            headers = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.9"}
            page = await client.get("/desk/login", headers=headers)
            token = csrf_of(await page.text())
            # the client does not return a Secure cookie over plain HTTP: hand it back as a browser behind TLS would
            response = await client.post(
                "/desk/login",
                data={"name": "chen", "password": PASSWORD, "_csrf": token},
                headers=headers | {"Cookie": f"{LOGIN_COOKIE}={token}"},
                allow_redirects=False,
            )
            assert response.status == 302
            cookie = response.cookies[SESSION_COOKIE]
            assert cookie["httponly"]
            assert cookie["samesite"] == "Lax"
            assert bool(cookie["secure"]) is secure, (trust, proto)


async def test_pages_forbid_framing_and_foreign_scripts(client: Client) -> None:
    response = await client.get("/desk/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("/desk/tickets/3", "/desk/tickets/3"),
        ("https://evil.example/desk/", "/desk/tickets"),
        ("//evil.example/desk/", "/desk/tickets"),
        ("/api/v1/me", "/desk/tickets"),
        (None, "/desk/tickets"),
    ],
)
def test_after_login_only_desk_pages_are_followed(raw: str | None, safe: str) -> None:
    assert safe_next(raw) == safe
