"""The ticket filters of the desk and the API, read from a query string into a ``TicketQuery``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

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
        raise FilterError(f"{name} 应为整数") from None


async def read_filters(
    params: Mapping[str, str], scope: Scope, org: OrgRepo, now: datetime, *, per_page: int = 50
) -> Filters:
    values = {k: params.get(k, "").strip() for k in ("community", "estate", "building", "state", "kind", "domain")}
    values |= {k: params.get(k, "").strip() for k in ("overdue", "flag", "q", "page", "per_page")}
    if any(not v.isprintable() for v in values.values()):
        raise FilterError("筛选条件含有无法识别的字符")
    if values["community"] and values["community"] != scope.community_id:
        raise FilterError("只能查看本社区的工单")
    units: frozenset[str] | None = None
    for key in ("estate", "building"):
        unit_id = values[key]
        if not unit_id:
            continue
        unit: Unit | None = await org.unit(unit_id)
        if unit is None or unit.community_id != scope.community_id:
            raise FilterError("没有这个小区或楼栋")
        below = frozenset(await org.subtree(unit.id))
        units = below if units is None else units & below
    states = tuple(s for s in values["state"].split(",") if s)
    if any(s not in STATES for s in states):
        raise FilterError("状态不正确")
    if values["kind"] and values["kind"] not in KINDS:
        raise FilterError("类别不正确")
    if values["domain"] and values["domain"] not in DOMAINS:
        raise FilterError("服务领域不正确")
    if values["flag"] and values["flag"] not in FLAGS:
        raise FilterError("标记不正确")
    if values["overdue"] not in ("", "0", "1", "true", "false"):
        raise FilterError("overdue 应为 1 或 0")
    if len(values["q"]) > MAX_TEXT:
        raise FilterError(f"搜索词最多 {MAX_TEXT} 个字")
    page = _int(values["page"], 1, "page")
    size = _int(values["per_page"], per_page, "per_page")
    if page < 1 or not 1 <= size <= 100:
        raise FilterError("页码或每页条数超出范围")
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
