"""The desk's charts as PNG, drawn by matplotlib off the event loop with the same CJK font as the digest."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from matplotlib.figure import Figure

from bot.web.deps import deps
from bot.web.desk.auth import desk_user
from bot.web.stats import weekly
from handlers import charts as draw

routes = web.RouteTableDef()

CACHE_SECONDS = 60.0
_cache: dict[tuple[Any, ...], tuple[float, bytes]] = {}


def _short(week: str) -> str:
    return week[2:].replace("-W", "W")  # 2026-W47 -> 26W47


def _figure(name: str, data: dict[str, Any], community: str) -> Figure:
    weeks = [_short(w["week"]) for w in data["weeks"]]
    if name == "domains":
        labels = [d["domain"] for d in data["by_domain"]]
        return draw.bar_figure(labels, [d["count"] for d in data["by_domain"]], f"{community} 各服务领域工单数")
    if name == "weekly":
        opened = [w["opened"] for w in data["weeks"]]
        resolved = [w["resolved"] for w in data["weeks"]]
        return draw.grouped_bars(weeks, opened, resolved, f"{community} 每周新反映与办结")
    if name == "rates":
        series = [
            ("受理率", [w["acceptance_rate"] for w in data["weeks"]]),
            ("办结率", [w["resolution_rate"] for w in data["weeks"]]),
        ]
        return draw.weekly_lines(weeks, series, f"{community} 受理率与办结率（按周）", "百分比", percent=True)
    hours = [
        ("接单用时", [_hours(w["median_accept_minutes"]) for w in data["weeks"]]),
        ("办结用时", [_hours(w["median_resolve_minutes"]) for w in data["weeks"]]),
    ]
    return draw.weekly_lines(weeks, hours, f"{community} 接单与办结用时（中位数）", "小时")


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


@routes.get(r"/charts/{name:(domains|weekly|rates|durations)}.png", name="chart")
async def chart(request: web.Request) -> web.Response:
    d = deps(request)
    scope = desk_user(request).scope
    name = request.match_info["name"]
    count = d.settings.desk.chart_weeks
    key = (scope.visible, name, count)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        png = hit[1]
    else:
        async with d.sessions() as session:
            data = await weekly(session, scope.visible, d.clock(), count, ZoneInfo(d.settings.timezone))
        try:
            png = await asyncio.to_thread(lambda: draw.png_bytes(_figure(name, data, scope.unit_name)))
        except draw.FontMissing:
            raise web.HTTPServiceUnavailable(text="图表字体缺失。") from None
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (time.monotonic(), png)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})
