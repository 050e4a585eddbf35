"""``linli lists`` (三单: needs, resources, services) and ``linli points`` (楼长积分)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import click
from sqlalchemy import func, select

from bot.app import open_store
from bot.cli.common import settings_or_exit
from bot.texts.names import state_title
from storage.models import UNFINISHED_STATES, CoUnit, Person, PointEntry, Ticket, Unit


@click.command("lists")
@click.option("--community", help="Only this community (id).")
@click.option("--json", "as_json", is_flag=True)
def lists(community: str | None, as_json: bool) -> None:
    """三单管理: the needs list, the co-building units' resources, and the services dispatched to them."""
    settings = settings_or_exit()

    async def go() -> dict[str, Any]:
        async with open_store(settings) as store, store.sessions() as session:
            tickets = select(Ticket)
            units = select(CoUnit).order_by(CoUnit.id)
            if community:
                tickets = tickets.where(Ticket.community_id == community)
                units = units.where(CoUnit.community_id == community)
            all_tickets = (await session.scalars(tickets.order_by(Ticket.id))).all()
            co_units = (await session.scalars(units)).all()
        needs = Counter(t.domain for t in all_tickets if t.state in UNFINISHED_STATES)
        names = {u.id: u.name for u in co_units}
        return {
            "needs": [{"domain": d, "open": n} for d, n in needs.most_common()],
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
        }

    data = asyncio.run(go())
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo("需求清单（未办结，按服务领域）")
    for row in data["needs"]:
        click.echo(f"  {row['domain']}  {row['open']} 件")
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
