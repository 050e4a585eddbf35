"""``linli tickets``: the staff's view of tickets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bot.app import Store, open_store
from bot.cli.common import settings_or_exit
from storage.models import Ticket
from storage.ticket_repo import TicketRepo


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "state": ticket.state,
        "kind": ticket.kind,
        "urgent": ticket.urgent,
        "domain": ticket.domain,
        "unit": ticket.unit_id,
        "assignee": ticket.assignee_id,
        "reporters": [r.sender_id for r in ticket.reporters],
        "opened_at": ticket.opened_at.isoformat(),
    }


async def print_ticket_table(store: Store, *, decisions: bool = False) -> None:
    async with store.sessions() as session:
        tickets = await TicketRepo(session).list()
    table = Table(title=f"工单 tickets ({len(tickets)})", show_lines=False)
    for column in ("#", "状态", "类别", "紧急", "服务领域", "楼栋/小区", "责任人", "反映人", "摘要"):
        table.add_column(column)
    if decisions:
        table.add_column("依据 rules")
    for t in tickets:
        row = [
            str(t.id),
            t.state,
            t.kind,
            "是" if t.urgent else "",
            t.domain,
            t.unit_id,
            t.assignee_id or "-",
            ", ".join(r.sender_name or r.sender_id for r in t.reporters),
            t.summary,
        ]
        if decisions:
            row.append(", ".join(t.decision.get("rules", [])[:4]))
        table.add_row(*row)
    Console(width=200).print(table)


@click.group()
def tickets() -> None:
    """Tickets on the grid."""


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array of tickets on stdout.")
def list_(as_json: bool) -> None:
    """List tickets."""
    settings = settings_or_exit()

    async def go() -> list[dict[str, Any]] | None:
        async with open_store(settings) as store:
            if not as_json:
                await print_ticket_table(store)
                return None
            async with store.sessions() as session:
                return [ticket_json(t) for t in await TicketRepo(session).list()]

    data = asyncio.run(go())
    if data is not None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
