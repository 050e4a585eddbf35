"""``linli lists`` (三单: needs, resources, services) and ``linli points`` (楼长积分)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import func, select

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.texts import needs as needs_texts
from bot.texts.names import state_title
from handlers import needs
from storage.models import UNFINISHED_STATES, CoUnit, Person, PointEntry, Ticket, Unit
from storage.org_repo import OrgRepo


@click.command("lists")
@click.option("--community", help="Only this community (id).")
@click.option("--month", "month", default=None, help="The 需求清单 of this month (2026-12); default: this month.")
@click.option("--quarter", "quarter", default=None, help="The 需求清单 of this quarter (2026-Q4).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Write needs.md and a chart.")
@click.option("--json", "as_json", is_flag=True)
def lists(community: str | None, month: str | None, quarter: str | None, out_dir: Path | None, as_json: bool) -> None:
    """三单管理: the needs list, the co-building units' resources, and the services dispatched to them.

    ``needs`` counts unfinished tickets by service area; ``entries`` is the 需求清单 of the month (or quarter):
    replies to the monthly needs round and the period's reports, each with the resources it matches. With
    ``--out`` each community's summary (for the co-building units' quarterly joint meeting) is written there.
    """
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)
    if month and quarter:
        fail("give --month or --quarter, not both")
    try:
        label, start, end = needs.period(quarter or month or f"{datetime.now(tz):%Y-%m}", tz)
    except ValueError as exc:
        fail(str(exc))
        raise

    async def go() -> tuple[dict[str, Any], list[needs.Summary]]:
        async with open_store(settings) as store, store.sessions() as session:
            tickets = select(Ticket)
            units = select(CoUnit).order_by(CoUnit.id)
            if community:
                tickets = tickets.where(Ticket.community_id == community)
                units = units.where(CoUnit.community_id == community)
            all_tickets = (await session.scalars(tickets.order_by(Ticket.id))).all()
            co_units = (await session.scalars(units)).all()
            summaries = [
                await needs.summary(session, c, label, start, end)
                for c in await OrgRepo(session).communities()
                if community is None or c.id == community
            ]
        open_needs = Counter(t.domain for t in all_tickets if t.state in UNFINISHED_STATES)
        names = {u.id: u.name for u in co_units}
        return {
            "needs": [{"domain": d, "open": n} for d, n in open_needs.most_common()],
            "resources": [
                {"unit": u.name, "resource": r.get("name", ""), "domain": r.get("domain", "")}
                for u in co_units
                for r in u.resources
            ],
            "services": [
                {
                    "ticket": t.id,
                    "unit": names.get(t.co_unit_id or "", t.co_unit_id),
                    "summary": t.summary,
                    "state": t.state,
                }
                for t in all_tickets
                if t.co_unit_id
            ],
            "period": label,
            "entries": [
                {
                    "source": e.source,
                    "id": e.ref,
                    "unit": e.where,
                    "domain": e.domain,
                    "text": e.text,
                    "ticket": e.ticket,
                    "matches": list(e.matches),
                }
                for found in summaries
                for e in found.entries
            ],
        }, summaries

    data, summaries = asyncio.run(go())
    if out_dir is not None:
        for found in summaries:
            target = out_dir if len(summaries) == 1 else out_dir / found.community
            for path in needs.write_summary(found, target):
                click.echo(f"wrote {path}", err=True)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo("需求清单（未办结，按服务领域）")
    for row in data["needs"]:
        click.echo(f"  {row['domain']}  {row['open']} 件")
    click.echo(f"本期需求（{label}）")
    for found in summaries:
        for entry in found.entries:
            click.echo(f"  {needs_texts.entry_line(entry)}")
    click.echo("资源清单（共建单位）")
    for row in data["resources"]:
        click.echo(f"  {row['unit']}：{row['resource']}（{row['domain']}）")
    click.echo("服务清单（已派给共建单位）")
    for row in data["services"]:
        click.echo(f"  #{row['ticket']} {row['summary']} → {row['unit']}，{state_title(row['state'])}")


@click.command("points")
@click.option("--community", help="Only this community (id).")
@click.option("--json", "as_json", is_flag=True)
def points(community: str | None, as_json: bool) -> None:
    """楼长积分: each leader's points, highest first, with what earned them."""
    settings = settings_or_exit()

    async def go() -> list[dict[str, Any]]:
        async with open_store(settings) as store, store.sessions() as session:
            query = (
                select(Person.id, Person.name, PointEntry.reason, func.sum(PointEntry.points), func.count())
                .join(Person, Person.id == PointEntry.person_id)
                .join(Unit, Unit.id == Person.unit_id)
                .group_by(Person.id, Person.name, PointEntry.reason)
            )
            if community:
                query = query.where(Unit.community_id == community)
            rows = (await session.execute(query)).all()
        board: dict[str, dict[str, Any]] = {}
        for person_id, name, reason, total, count in rows:
            entry = board.setdefault(person_id, {"id": person_id, "name": name, "points": 0, "by_reason": {}})
            entry["points"] += int(total or 0)
            entry["by_reason"][reason] = {"points": int(total or 0), "count": int(count)}
        return sorted(board.values(), key=lambda e: (-e["points"], e["name"]))

    board = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(board, ensure_ascii=False, indent=2))
        return
    for rank, entry in enumerate(board, 1):
        detail = "，".join(f"{k} {v['count']} 次 {v['points']} 分" for k, v in entry["by_reason"].items())
        click.echo(f"{rank}. {entry['name']} {entry['points']} 分（{detail}）")
