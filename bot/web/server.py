"""The HTTP server: health now; adapters' callbacks and the dashboard mount here too."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

StatusFn = Callable[[], dict[str, object]]
STATUS_KEY: web.AppKey[StatusFn] = web.AppKey("status")


async def healthz(request: web.Request) -> web.Response:
    status = request.app[STATUS_KEY]()
    ok = bool(status.get("ok", True))
    return web.json_response(status, status=200 if ok else 503)


def create_web_app(
    status: StatusFn, routes: Iterable[web.AbstractRouteDef] = (), middlewares: Sequence[Middleware] = ()
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=list(middlewares))
    app[STATUS_KEY] = status
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(list(routes))
    return app
