"""The desk's pages: login, the ticket list and one ticket, the council agenda, 三单, points, charts."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from bot.texts import desk as desk_texts
from bot.texts.names import ROLE_TITLES, state_title
from bot.web import actions, views
from bot.web.credentials import new_secret, same
from bot.web.deps import deps
from bot.web.desk.auth import (
    LIMITER_KEY,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    USER_KEY,
    client_address,
    desk_user,
    safe_next,
    set_cookie,
    sign_in,
    sign_out,
)
from bot.web.filters import DOMAINS, STATES, FilterError, read_filters
from storage.desk_query import FLAGS, DeskQuery
from storage.org_repo import OrgRepo

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def tz_of(request: web.Request) -> ZoneInfo:
    return ZoneInfo(deps(request).settings.timezone)


def render(request: web.Request, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    base: dict[str, Any] = {"me": None, "csrf": "", "nav": template.split(".")[0]}
    if USER_KEY in request:
        user = request[USER_KEY]
        base |= {"me": views.who(user.scope), "csrf": user.csrf}
    response = aiohttp_jinja2.render_template(template, request, base | context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/", name="home")
async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound(str(request.app.router["tickets"].url_for()))


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    token = new_secret()
    response = render(request, "login.html", {"login_csrf": token, "next": safe_next(request.query.get("next"))})
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=1800)
    return response


@routes.post("/login", name="login")
async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    name = str(form.get("name", "")).strip()[:64]
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not same(cookie, str(form.get("_csrf", ""))):
        raise web.HTTPForbidden(text=desk_texts.LOGIN_PAGE_EXPIRED)
    limiter = request.app[LIMITER_KEY]
    address = client_address(request)
    if limiter.blocked(name, address):
        log.warning("desk login refused for a while: too many failures (user %r from %s)", name, address)
        return render(request, "login.html", _again(name, target, desk_texts.TOO_MANY_TRIES), status=429)
    secret = await sign_in(request, name, password) if name and password else None
    if secret is None:
        limiter.failed(name, address)
        log.info("desk login failed for user %r from %s", name, address)
        return render(request, "login.html", _again(name, target, desk_texts.WRONG_PASSWORD), status=401)
    limiter.succeeded(name)
    log.info("desk login: %s from %s", name, address)
    response = web.HTTPFound(target)
    hours = deps(request).settings.desk.session_hours
    set_cookie(request, response, SESSION_COOKIE, secret, max_age=int(hours * 3600))
    response.del_cookie(LOGIN_COOKIE, path="/desk/")
    raise response


def _again(name: str, target: str, error: str) -> dict[str, Any]:
    return {"login_csrf": "", "next": target, "name": name, "error": error, "retry": True}


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    await sign_out(request)
    response = web.HTTPFound(str(request.app.router["login"].url_for()))
    response.del_cookie(SESSION_COOKIE, path="/desk/")
    raise response


@routes.get("/tickets", name="tickets")
async def ticket_list(request: web.Request) -> web.Response:
    d = deps(request)
    scope = desk_user(request).scope
    now = d.clock()
    async with d.sessions() as session:
        options = await views.unit_options(session, scope)
        try:
            filters = await read_filters(request.query, scope, OrgRepo(session), now)
        except FilterError as exc:
            return render(request, "tickets.html", _list_context(options, dict(request.query), exc), status=400)
        page = await views.ticket_page(session, scope, filters, now, tz_of(request))
    context = _list_context(options, filters.values, None) | page
    query = {k: v for k, v in filters.values.items() if v and k != "page"}
    context["page_links"] = _page_links(request, query, page["page"], page["pages"])
    return render(request, "tickets.html", context)


def _list_context(options: dict[str, Any], values: dict[str, str], error: Exception | None) -> dict[str, Any]:
    return {
        "options": options,
        "values": values,
        "error": str(error) if error else "",
        "states": [(s, state_title(s)) for s in STATES],
        "domains": DOMAINS,
        "flags": [(f, desk_texts.FLAG_TITLES[f]) for f in FLAGS],
        "tickets": [],
        "total": 0,
        "page_links": [],
    }


def _page_links(request: web.Request, query: dict[str, str], page: int, pages: int) -> list[dict[str, Any]]:
    url = request.app.router["tickets"].url_for()
    shown = sorted({1, max(1, page - 1), page, min(pages, page + 1), pages})
    return [{"page": n, "url": str(url.with_query(query | {"page": str(n)})), "current": n == page} for n in shown]


@routes.get(r"/tickets/{ticket_id:\d+}", name="ticket")
async def ticket_page(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    notice = desk_texts.DONE.get(done, "")
    return await _ticket_page(request, int(request.match_info["ticket_id"]), notice=notice)


async def _ticket_page(
    request: web.Request, ticket_id: int, *, notice: str = "", error: str = "", status: int = 200
) -> web.Response:
    d = deps(request)
    scope = desk_user(request).scope
    async with d.sessions() as session:
        detail = await views.ticket_detail(session, scope, ticket_id, d.clock(), tz_of(request))
        staff = [
            {"id": p.id, "name": p.name, "role": ROLE_TITLES.get(p.role, p.role)}
            for p in await DeskQuery(session).staff(scope.community_id)
        ]
    if detail is None:
        return render(request, "missing.html", {"ticket_id": ticket_id}, status=404)
    context = {
        "t": detail,
        "actions": desk_texts.HISTORY_TITLES,
        "outbox": desk_texts.OUTBOX_TITLES,
        "allowed": await actions.allowed(d, scope, ticket_id),
        "staff": staff,
        "domains": DOMAINS,
        "notice": notice,
        "error": error,
    }
    return render(request, "ticket.html", context, status=status)


@routes.post(r"/tickets/{ticket_id:\d+}/{action:[a-z]+}", name="act")
async def act(request: web.Request) -> web.Response:
    d = deps(request)
    scope = desk_user(request).scope
    ticket_id = int(request.match_info["ticket_id"])
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    result = await actions.perform(d, scope, ticket_id, actions.Request.of(request.match_info["action"], fields))
    if result.status == 404:
        return render(request, "missing.html", {"ticket_id": ticket_id}, status=404)
    if not result.ok:
        return await _ticket_page(request, ticket_id, error=result.message, status=result.status)
    log.info("desk: %s did %s on #%d", scope.user, request.match_info["action"], ticket_id)
    target = (
        request.app.router["ticket"]
        .url_for(ticket_id=str(ticket_id))
        .with_query({"done": request.match_info["action"]})
    )
    raise web.HTTPSeeOther(str(target))


@routes.get("/council", name="council")
async def council(request: web.Request) -> web.Response:
    d = deps(request)
    async with d.sessions() as session:
        items = await views.agenda(session, d.settings, desk_user(request).scope, tz_of(request))
    return render(request, "council.html", {"items": items})


@routes.get("/lists", name="lists")
async def three_lists(request: web.Request) -> web.Response:
    d = deps(request)
    async with d.sessions() as session:
        lists = await views.three_lists(session, desk_user(request).scope)
    return render(request, "lists.html", lists)


@routes.get("/points", name="points")
async def points(request: web.Request) -> web.Response:
    d = deps(request)
    async with d.sessions() as session:
        board = await views.leader_points(session, desk_user(request).scope)
    return render(request, "points.html", {"board": board, "reasons": desk_texts.REASON_TITLES})


@routes.get("/charts", name="charts")
async def charts_page(request: web.Request) -> web.Response:
    return render(request, "charts.html", {"weeks": deps(request).settings.desk.chart_weeks})
