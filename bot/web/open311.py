"""Open311 GeoReport v2 at /open311/v2 (JSON): services (one per service area) and service requests.

Field names and values are the spec's: ``status`` is ``open`` or ``closed``, linli's own state goes into
``status_notes``; errors are ``[{"code", "description"}]``. The api_key is a token from ``linli users
token`` and limits what is seen to its owner's part of the grid. With ``open311.public_reads`` the GET
calls also answer without a key, across every community, with descriptions masked and no reporters.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.message import IncomingMessage, Platform
from bot.texts import desk as texts
from bot.texts.names import mask_personal, mention, state_title
from bot.web import actions
from bot.web.deps import DEPS, WebDeps, deps
from bot.web.scope import Scope
from bot.web.security import security_headers
from bot.web.tokens import scope_for_token
from nlp.decision import Domain
from storage.desk_query import DeskQuery, TicketQuery, Visible
from storage.intake_repo import intake_group
from storage.models import UNFINISHED_STATES, OutboxItem, Ticket, Unit

log = logging.getLogger(__name__)

PLATFORM = Platform.OPEN311.value

SERVICE_CODES = {
    "space": Domain.SPACE,
    "safety": Domain.SAFETY,
    "sanitation": Domain.SANITATION,
    "culture": Domain.CULTURE,
    "policy": Domain.POLICY,
    "daily_life": Domain.DAILY_LIFE,
    "dispute": Domain.DISPUTE,
    "other": Domain.OTHER,
}
CODE_OF = {domain.value: code for code, domain in SERVICE_CODES.items()}
CLOSED_STATES = ("resolved", "closed", "merged", "rejected", "withdrawn")


def problem(status: int, description: str) -> web.Response:
    return web.json_response([{"code": status, "description": description}], status=status)


def _forbidden(description: str) -> web.HTTPForbidden:
    body = json.dumps([{"code": 403, "description": description}], ensure_ascii=False)
    return web.HTTPForbidden(text=body, content_type="application/json")


def services() -> list[dict[str, Any]]:
    return [
        {
            "service_code": code,
            "service_name": domain.value,
            "description": texts.OPEN311_SERVICE_DESCRIPTIONS[domain.value],
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": texts.OPEN311_GROUP_NAME,
        }
        for code, domain in SERVICE_CODES.items()
    ]


def w3(value: datetime | None, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).isoformat(timespec="seconds") if value is not None else None


def request_json(ticket: Ticket, units: dict[str, Unit], tz: ZoneInfo, *, public: bool) -> dict[str, Any]:
    closed = ticket.state not in UNFINISHED_STATES
    notes = state_title(ticket.state)
    if ticket.resolution_note:
        notes += f"：{ticket.resolution_note}"
    updated = max(t for t in (ticket.opened_at, ticket.accepted_at, ticket.resolved_at, ticket.closed_at) if t)
    unit = units.get(ticket.unit_id)
    description = mask_personal(ticket.summary) if public else ticket.summary
    return {
        "service_request_id": str(ticket.id),
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": ticket.domain,
        "service_code": CODE_OF.get(ticket.domain, "other"),
        "description": description,
        "agency_responsible": unit.name if unit is not None else None,
        "service_notice": None,
        "requested_datetime": w3(ticket.opened_at, tz),
        "updated_datetime": w3(updated, tz),
        "expected_datetime": None if closed else w3(ticket.sla_deadline_at, tz),
        "address": unit.name if unit is not None else "",
        "address_id": ticket.unit_id,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


async def reader(request: web.Request) -> tuple[list[Visible], bool]:
    """Whose requests this caller may read: their scope with a key; everyone's (masked) if public."""
    d = deps(request)
    key = request.query.get("api_key", "")
    if key:
        scope = await scope_for_token(d, key)
        if scope is None:
            raise _forbidden(texts.OPEN311_KEY_INVALID)
        return [scope.visible], False
    if not d.settings.open311.public_reads:
        raise _forbidden(texts.OPEN311_KEY_REQUIRED)
    async with d.sessions() as session:
        communities = [u.id for u in await DeskQuery(session).communities()]
    return [Visible(c, None, "") for c in communities], True


def _date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(texts.open311_bad_date(name)) from None
    if value.tzinfo is None:
        raise ValueError(texts.open311_bad_date(name))
    return value


routes = web.RouteTableDef()


@routes.get("/services.json")
async def service_list(request: web.Request) -> web.Response:
    return web.json_response(services())


@routes.get("/services/{code}.json")
async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["code"]
    if code not in SERVICE_CODES:
        return problem(404, texts.open311_no_service(code))
    return web.json_response({"service_code": code, "attributes": []})


@routes.get("/requests.json")
async def request_list(request: web.Request) -> web.Response:
    d = deps(request)
    settings = d.settings.open311
    tz = ZoneInfo(d.settings.timezone)
    visibles, public = await reader(request)
    query = request.query
    ids: tuple[int, ...] = ()
    if query.get("service_request_id"):
        raw_ids = [part.strip() for part in query["service_request_id"].split(",") if part.strip()]
        if not all(part.isdigit() and len(part) < 10 for part in raw_ids):
            return problem(400, texts.OPEN311_BAD_IDS)
        ids = tuple(int(part) for part in raw_ids)
    codes = [c for c in query.get("service_code", "").split(",") if c]
    if any(c not in SERVICE_CODES for c in codes):
        return problem(400, texts.OPEN311_UNKNOWN_SERVICE)
    statuses = {s for s in query.get("status", "").split(",") if s}
    if statuses - {"open", "closed"}:
        return problem(400, texts.OPEN311_BAD_STATUS)
    try:
        end = _date(query["end_date"], "end_date") if query.get("end_date") else d.clock()
        start = _date(query["start_date"], "start_date") if query.get("start_date") else None
    except ValueError as exc:
        return problem(400, str(exc))
    if start is None:
        start = end - timedelta(days=settings.default_days)
    window: tuple[datetime | None, datetime | None] = (start, end)
    if ids:  # the spec: service_request_id overrides every other parameter
        codes, statuses, window = [], set(), (None, None)
    states: tuple[str, ...] = ()
    if statuses == {"open"}:
        states = tuple(s.value for s in UNFINISHED_STATES)
    elif statuses == {"closed"}:
        states = CLOSED_STATES
    found: list[dict[str, Any]] = []
    async with d.sessions() as session:
        repo = DeskQuery(session)
        for visible in visibles:
            units = {u.id: u for u in await repo.units(visible.community_id)}
            for code in codes or [""]:
                wanted = TicketQuery(
                    states=states,
                    domain=SERVICE_CODES[code].value if code else None,
                    ids=ids,
                    opened_from=window[0],
                    opened_to=window[1],
                )
                for ticket in await repo.newest(visible, wanted, settings.max_results):
                    found.append(request_json(ticket, units, tz, public=public))
    found.sort(key=lambda r: int(r["service_request_id"]), reverse=True)
    return web.json_response(found[: settings.max_results])


@routes.get(r"/requests/{request_id}.json")
async def one_request(request: web.Request) -> web.Response:
    d = deps(request)
    raw = request.match_info["request_id"]
    visibles, public = await reader(request)
    if raw.isdigit() and len(raw) < 10:
        async with d.sessions() as session:
            repo = DeskQuery(session)
            for visible in visibles:
                ticket = await repo.ticket(visible, int(raw))
                if ticket is not None:
                    units = {u.id: u for u in await repo.units(visible.community_id)}
                    return web.json_response(
                        [request_json(ticket, units, ZoneInfo(d.settings.timezone), public=public)]
                    )
    return problem(404, texts.open311_no_request(raw))


@routes.post("/requests.json")
async def submit(request: web.Request) -> web.Response:
    """A report from another system: filed under its building (or estate) and fed through the same way in
    as a chat message, so it is classified, merged with a similar open report, routed and announced alike."""
    d = deps(request)
    form = await request.post()
    field = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    scope = await scope_for_token(d, field.get("api_key", ""))
    if scope is None:
        return problem(403, texts.OPEN311_KEY_INVALID if field.get("api_key") else texts.OPEN311_KEY_REQUIRED)
    if d.receive is None:
        return problem(503, texts.OPEN311_CLOSED_FOR_POSTS)
    code = field.get("service_code", "")
    if code not in SERVICE_CODES:
        return problem(400, texts.OPEN311_UNKNOWN_SERVICE)
    if field.get("jurisdiction_id") and field["jurisdiction_id"] != scope.community_id:
        return problem(400, texts.OPEN311_WRONG_JURISDICTION)
    description = field.get("description", "")
    if not description:
        return problem(400, texts.OPEN311_NEEDS_DESCRIPTION)
    if len(description) > d.settings.max_message_chars:
        return problem(400, texts.OPEN311_TOO_LONG)
    if not (field.get("address_id") or field.get("address_string")):
        return problem(400, texts.OPEN311_NEEDS_PLACE)
    async with d.sessions.begin() as session:
        unit = await _place(session, scope, field.get("address_id", ""), field.get("address_string", ""))
        if unit is None:
            return problem(400, texts.OPEN311_UNKNOWN_PLACE)
        group = await intake_group(session, PLATFORM, unit, unit.name + texts.OPEN311_GROUP)
        chat_id, chat_name = group.chat_id, group.name
    who = field.get("account_id") or field.get("email") or field.get("device_id") or "anonymous"
    name = _person_name(field.get("first_name", ""), field.get("last_name", ""))
    message = IncomingMessage(
        platform=PLATFORM,
        chat_id=chat_id,
        chat_name=chat_name,
        sender_id=f"{scope.user}:{who}"[:128],
        sender_name=name[:100] or texts.OPEN311_SENDER,
        text=description,
        message_id=f"{scope.user}:{uuid.uuid4().hex}",
        time=d.clock(),
    )
    result = await d.receive(message)
    if not result.ticket_ids:
        return problem(400, texts.OPEN311_NOT_A_REPORT)
    (ticket_id,) = result.ticket_ids
    domain = SERVICE_CODES[code].value
    correction = await actions.perform(d, scope, ticket_id, actions.Request("correct", domain=domain))
    if not correction.ok and correction.status != 400:
        log.info("open311: #%d keeps the classifier's service area (%s)", ticket_id, correction.message)
    notice = await _acknowledgement(d, result.outbox_ids, message.sender_name)
    log.info("open311: %s filed #%d under %s", scope.user, ticket_id, unit.id)
    return web.json_response(
        [
            {
                "service_request_id": str(ticket_id),
                "service_notice": notice,
                "account_id": field.get("account_id") or None,
            }
        ]
    )


async def _place(session: AsyncSession, scope: Scope, address_id: str, address: str) -> Unit | None:
    """The unit named by id, else the unit whose name the address contains (the longest name wins)."""
    units = [u for u in await DeskQuery(session).units(scope.community_id) if u.id in scope.unit_ids]
    if address_id:
        return next((u for u in units if u.id == address_id), None)
    named = sorted((u for u in units if u.name and u.name in address), key=lambda u: len(u.name), reverse=True)
    return named[0] if named else None


def _person_name(first: str, last: str) -> str:
    """张 + 三 -> 张三 (family name first, no space); John + Smith -> John Smith."""
    if first and last and not (first + last).isascii():
        return last + first
    return " ".join(part for part in (first, last) if part)


async def _acknowledgement(d: WebDeps, outbox_ids: tuple[int, ...], sender_name: str) -> str | None:
    """What linli said to the request's group (已记录 #12 …), as the spec's service_notice."""
    if not outbox_ids:
        return None
    async with d.sessions() as session:
        said = await session.get(OutboxItem, outbox_ids[0])
    if said is None or said.platform != PLATFORM:
        return None
    return mask_personal(said.text.removeprefix(mention(sender_name)))


def create_open311_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app[DEPS] = deps
    app.router.add_routes(routes)
    return app
