"""The HTTP servers: the public one (health, adapters' callbacks) and the operators' admin listener."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

StatusFn = Callable[[], dict[str, object]]
STATUS_KEY: web.AppKey[StatusFn] = web.AppKey("status")


DETAILS_KEY: web.AppKey[bool] = web.AppKey("details")


async def healthz(request: web.Request) -> web.Response:
    status = request.app[STATUS_KEY]()
    ok = bool(status.get("ok", True))
    body = status if request.app[DETAILS_KEY] else {"ok": ok}
    return web.json_response(body, status=200 if ok else 503)


def create_web_app(
    status: StatusFn, routes: Iterable[web.AbstractRouteDef] = (), middlewares: Sequence[Middleware] = ()
) -> web.Application:
    """The public app: platform callbacks, the desk, and /healthz saying only whether linli is well."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=list(middlewares))
    app[STATUS_KEY] = status
    app[DETAILS_KEY] = False
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(list(routes))
    return app


def create_admin_app(status: StatusFn) -> web.Application:
    """The operators' app (its own listener, 127.0.0.1 by default): /healthz with every detail."""
    app = web.Application(client_max_size=64 * 1024)
    app[STATUS_KEY] = status
    app[DETAILS_KEY] = True
    app.router.add_get("/healthz", healthz)
    return app
