"""The staff desk at /desk/: server-rendered pages for the committee, branch secretaries and leaders."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web.deps import DEPS, WebDeps
from bot.web.desk import charts, pages
from bot.web.desk.auth import LIMITER_KEY, LoginLimiter, session_middleware
from bot.web.security import security_headers
from config.settings import CONFIG_DIR

HERE = Path(__file__).resolve().parent


def create_desk_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers, session_middleware])
    app[DEPS] = deps
    desk = deps.settings.desk
    app[LIMITER_KEY] = LoginLimiter(desk.login_attempts, desk.login_window_minutes * 60)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_routes(pages.routes)
    app.router.add_routes(charts.routes)
    app.router.add_static("/static/", HERE / "static", name="static")
    app.router.add_static("/fonts/", CONFIG_DIR / "fonts", name="static-fonts")
    return app
