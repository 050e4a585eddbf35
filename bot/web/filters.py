"""The ticket filters of the desk and the API, read from a query string into a ``TicketQuery``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.texts import desk as texts
from bot.web.scope import Scope
from nlp.decision import Domain
from storage.desk_query import FLAGS, TicketQuery
from storage.models import TicketState, Unit
from storage.org_repo import OrgRepo

KINDS = ("trivial", "major")
STATES = tuple(s.value for s in TicketState)
DOMAINS = tuple(d.value for d in Domain)
MAX_TEXT = 100


class FilterError(ValueError):
    """A filter value that cannot be used; the message is for the user, in Chinese."""


@dataclass(frozen=True)
class Filters:
    """What the user asked for, as given (for the form), and the query it becomes."""

    values: dict[str, str]
    query: TicketQuery


def _int(raw: str | None, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise FilterError(texts.filter_not_integer(name)) from None


async def read_filters(
    params: Mapping[str, str], scope: Scope, org: OrgRepo, now: datetime, *, per_page: int = 50
) -> Filters:
    values = {k: params.get(k, "").strip() for k in ("community", "estate", "building", "state", "kind", "domain")}
    values |= {k: params.get(k, "").strip() for k in ("overdue", "flag", "q", "page", "per_page")}
    if any(not v.isprintable() for v in values.values()):
        raise FilterError(texts.FILTER_CONTROL_CHARS)
    if values["community"] and values["community"] != scope.community_id:
        raise FilterError(texts.FILTER_OTHER_COMMUNITY)
    units: frozenset[str] | None = None
    for key in ("estate", "building"):
        unit_id = values[key]
        if not unit_id:
            continue
        unit: Unit | None = await org.unit(unit_id)
        if unit is None or unit.community_id != scope.community_id:
            raise FilterError(texts.FILTER_UNKNOWN_UNIT)
        below = frozenset(await org.subtree(unit.id))
        units = below if units is None else units & below
    states = tuple(s for s in values["state"].split(",") if s)
    if any(s not in STATES for s in states):
        raise FilterError(texts.FILTER_BAD_STATE)
    if values["kind"] and values["kind"] not in KINDS:
        raise FilterError(texts.FILTER_BAD_KIND)
    if values["domain"] and values["domain"] not in DOMAINS:
        raise FilterError(texts.FILTER_BAD_DOMAIN)
    if values["flag"] and values["flag"] not in FLAGS:
        raise FilterError(texts.FILTER_BAD_FLAG)
    if values["overdue"] not in ("", "0", "1", "true", "false"):
        raise FilterError(texts.FILTER_BAD_OVERDUE)
    if len(values["q"]) > MAX_TEXT:
        raise FilterError(texts.filter_text_too_long(MAX_TEXT))
    page = _int(values["page"], 1, "page")
    size = _int(values["per_page"], per_page, "per_page")
    if page < 1 or not 1 <= size <= 100:
        raise FilterError(texts.FILTER_BAD_PAGE)
    query = TicketQuery(
        units=units,
        states=states,
        kind=values["kind"] or None,
        domain=values["domain"] or None,
        overdue_at=now if values["overdue"] in ("1", "true") else None,
        flag=values["flag"] or None,
        text=values["q"],
        page=page,
        per_page=size,
    )
    return Filters(values, query)
