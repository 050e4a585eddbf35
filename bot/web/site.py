"""The whole HTTP application of ``linli run``: health, metrics, the desk, the JSON API and Open311."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from bot.web.api import create_api_app
from bot.web.deps import WebDeps
from bot.web.desk import create_desk_app
from bot.web.metrics import METRICS_KEY, Metrics, metrics_handler
from bot.web.open311 import create_open311_app
from bot.web.security import forwarded_middleware
from bot.web.server import create_web_app


async def to_desk(request: web.Request) -> web.Response:
    raise web.HTTPFound("/desk/")


def create_site(deps: WebDeps, routes: Iterable[web.AbstractRouteDef] = ()) -> web.Application:
    """Sub-apps keep their own middlewares: sessions and CSRF for the desk, bearer tokens for the API."""
    settings = deps.settings
    app = create_web_app(deps.status, routes, middlewares=[forwarded_middleware(settings.http.trust_forwarded)])
    app[METRICS_KEY] = deps.metrics or Metrics(deps.sessions, deps.status)
    app.router.add_get("/metrics", metrics_handler)
    if settings.desk.enabled:
        app.router.add_get("/", to_desk)
        app.add_subapp("/desk/", create_desk_app(deps))
        app.add_subapp("/api/v1/", create_api_app(deps))
    if settings.open311.enabled:
        app.add_subapp("/open311/v2/", create_open311_app(deps))
    return app
