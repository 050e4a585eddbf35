"""The JSON API at /api/v1: the desk's data for other programs, with bearer tokens (``linli users token``).

The contract is openapi.json beside this file, served at /api/v1/openapi.json and checked against the
implementation by schemathesis in the tests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.texts import desk as desk_texts
from bot.web import actions, views
from bot.web.deps import DEPS, WebDeps, deps
from bot.web.filters import FilterError, read_filters
from bot.web.scope import Scope
from bot.web.security import security_headers
from bot.web.stats import weekly
from bot.web.tokens import scope_for_token
from storage.org_repo import OrgRepo

log = logging.getLogger(__name__)

SPEC_FILE = Path(__file__).resolve().parent / "openapi.json"
SCOPE_KEY: web.RequestKey[Scope] = web.RequestKey("linli_api_scope", Scope)
PUBLIC = ("openapi",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
routes = web.RouteTableDef()


def error(status: int, code: str, message: str) -> web.Response:
    """Every error of the API: {"error": {"code", "message"}}; the message is for people, in Chinese."""
    response = web.json_response({"error": {"code": code, "message": message}}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="linli"'
    return response


@web.middleware
async def bearer_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    if resource is not None and resource.name in PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return error(401, "unauthorized", desk_texts.TOKEN_MISSING)
    scope = await scope_for_token(deps(request), secret.strip())
    if scope is None:
        return error(401, "unauthorized", desk_texts.TOKEN_INVALID)
    request[SCOPE_KEY] = scope
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error(404, "not_found", desk_texts.NO_SUCH_PATH)
    except web.HTTPMethodNotAllowed:
        return error(405, "method_not_allowed", desk_texts.METHOD_NOT_ALLOWED)


def tz(request: web.Request) -> ZoneInfo:
    return ZoneInfo(deps(request).settings.timezone)


@routes.get("/openapi.json", name="openapi")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


@routes.get("/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(views.who(request[SCOPE_KEY]))


@routes.get("/units")
async def units(request: web.Request) -> web.Response:
    async with deps(request).sessions() as session:
        return web.json_response(await views.unit_options(session, request[SCOPE_KEY]))


@routes.get("/tickets")
async def tickets(request: web.Request) -> web.Response:
    d = deps(request)
    scope = request[SCOPE_KEY]
    now = d.clock()
    async with d.sessions() as session:
        try:
            filters = await read_filters(request.query, scope, OrgRepo(session), now)
        except FilterError as exc:
            return error(400, "bad_filter", str(exc))
        return web.json_response(await views.ticket_page(session, scope, filters, now, tz(request)))


@routes.get(r"/tickets/{ticket_id}")
async def ticket(request: web.Request) -> web.Response:
    d = deps(request)
    raw = request.match_info["ticket_id"]
    if not raw.isdigit() or len(raw) > 9:
        return error(404, "not_found", desk_texts.NOT_FOUND)
    async with d.sessions() as session:
        detail = await views.ticket_detail(session, request[SCOPE_KEY], int(raw), d.clock(), tz(request))
    if detail is None:
        return error(404, "not_found", desk_texts.NOT_FOUND)
    return web.json_response(detail)


ERROR_CODES = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict"}


@routes.post(r"/tickets/{ticket_id}/actions")
async def ticket_action(request: web.Request) -> web.Response:
    """Accept, assign, transfer, escalate, resolve, reject (with a reason) or correct kind/area."""
    d = deps(request)
    raw = request.match_info["ticket_id"]
    if not raw.isdigit() or len(raw) > 9:
        return error(404, "not_found", desk_texts.NOT_FOUND)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return error(400, "bad_request", desk_texts.BAD_BODY)
    scope = request[SCOPE_KEY]
    result = await actions.perform(d, scope, int(raw), actions.Request.of(body["action"], body))
    if not result.ok:
        return error(result.status, ERROR_CODES.get(result.status, "bad_request"), result.message)
    log.info("api: %s did %s on #%s", scope.user, body["action"], raw)
    async with d.sessions() as session:
        detail = await views.ticket_detail(session, scope, int(raw), d.clock(), tz(request))
    return web.json_response({"message": result.message, "ticket": detail})


@routes.get("/council/agenda")
async def council_agenda(request: web.Request) -> web.Response:
    d = deps(request)
    async with d.sessions() as session:
        items = await views.agenda(session, d.settings, request[SCOPE_KEY], tz(request))
    return web.json_response({"items": items})


@routes.get("/lists")
async def lists(request: web.Request) -> web.Response:
    async with deps(request).sessions() as session:
        return web.json_response(await views.three_lists(session, request[SCOPE_KEY]))


@routes.get("/points")
async def points(request: web.Request) -> web.Response:
    async with deps(request).sessions() as session:
        return web.json_response({"leaders": await views.leader_points(session, request[SCOPE_KEY])})


@routes.get("/stats")
async def stats(request: web.Request) -> web.Response:
    d = deps(request)
    raw = request.query.get("weeks", str(d.settings.desk.chart_weeks))
    if not raw.isdigit() or not 1 <= int(raw) <= 104:
        return error(400, "bad_filter", desk_texts.BAD_WEEKS)
    async with d.sessions() as session:
        data: dict[str, Any] = await weekly(session, request[SCOPE_KEY].visible, d.clock(), int(raw), tz(request))
    return web.json_response(data)


def create_api_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers, bearer_middleware])
    app[DEPS] = deps
    app.router.add_routes(routes)
    return app
