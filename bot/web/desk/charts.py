"""The desk's charts as PNG, drawn by matplotlib off the event loop with the same CJK font as the digest."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from matplotlib.figure import Figure

from bot.texts import desk as texts
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
        return draw.bar_figure(
            labels, [d["count"] for d in data["by_domain"]], texts.CHART_DOMAINS.format(community=community)
        )
    if name == "weekly":
        opened = [w["opened"] for w in data["weeks"]]
        resolved = [w["resolved"] for w in data["weeks"]]
        return draw.grouped_bars(weeks, opened, resolved, texts.CHART_WEEKLY.format(community=community))
    if name == "rates":
        series = [
            (texts.ACCEPTANCE_RATE, [w["acceptance_rate"] for w in data["weeks"]]),
            (texts.RESOLUTION_RATE, [w["resolution_rate"] for w in data["weeks"]]),
        ]
        return draw.weekly_lines(
            weeks,
            series,
            texts.CHART_RATES.format(community=community),
            texts.PERCENT,
            percent=True,
            empty=texts.NO_DATA,
        )
    hours = [
        (texts.ACCEPT_TIME, [_hours(w["median_accept_minutes"]) for w in data["weeks"]]),
        (texts.RESOLVE_TIME, [_hours(w["median_resolve_minutes"]) for w in data["weeks"]]),
    ]
    return draw.weekly_lines(
        weeks, hours, texts.CHART_DURATIONS.format(community=community), texts.HOURS, empty=texts.NO_DATA
    )


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
            raise web.HTTPServiceUnavailable(text=texts.FONT_MISSING) from None
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = (time.monotonic(), png)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})
