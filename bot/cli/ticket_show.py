"""``linli tickets show N``: one ticket with its whole history, reminders and escalations included."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from bot.app import open_store
from bot.cli.common import fail, settings_or_exit
from bot.texts.names import mask_personal
from storage.models import Ticket, TicketReminder
from storage.ticket_repo import TicketRepo


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """One ticket in the stable shape of ``linli tickets list --json``."""
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


@click.command("show")
@click.argument("ticket_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the ticket, its history and its reminders.")
def show(ticket_id: int, as_json: bool) -> None:
    """Show ticket N: state, deadline and every step of its history."""
    settings = settings_or_exit()
    tz = ZoneInfo(settings.timezone)

    async def go() -> dict[str, Any] | None:
        async with open_store(settings) as store, store.sessions() as session:
            repo = TicketRepo(session)
            ticket = await repo.get(ticket_id)
            if ticket is None:
                return None
            events = await repo.events(ticket_id)
            reminders = (
                await session.scalars(
                    select(TicketReminder).where(TicketReminder.ticket_id == ticket_id).order_by(TicketReminder.id)
                )
            ).all()

            def iso(value: Any) -> str | None:
                return value.astimezone(tz).isoformat() if value is not None else None

            return ticket_json(ticket) | {
                "escalation_level": ticket.escalation_level,
                "summary": mask_personal(ticket.summary),
                "resolution_note": mask_personal(ticket.resolution_note),
                "decision": ticket.decision,
                "opened_at": iso(ticket.opened_at),
                "check": {"state": ticket.check_state, "due": iso(ticket.check_due_at)},
                "deadline": {
                    "stage": ticket.sla_stage,
                    "at": iso(ticket.sla_deadline_at),
                    "next": iso(ticket.sla_due_at),
                },
                "history": [
                    {
                        "at": iso(e.at),
                        "actor": e.actor,
                        "action": e.action,
                        "from": e.from_state,
                        "to": e.to_state,
                        "note": mask_personal(e.note),
                    }
                    for e in events
                ],
                "reminders": [
                    {
                        "action": r.action,
                        "stage": r.stage,
                        "level": r.level,
                        "due_at": iso(r.due_at),
                        "at": iso(r.at),
                        "status": r.status,
                        "to": r.recipients,
                    }
                    for r in reminders
                ],
            }

    data = asyncio.run(go())
    if data is None:
        fail(f"no ticket #{ticket_id}", code=1)
        return
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"#{data['id']} [{data['state']}] {data['kind']}{' 紧急' if data['urgent'] else ''} {data['domain']}")
    click.echo(f"  {data['summary']}")
    click.echo(f"  网格 {data['unit']}  责任人 {data['assignee'] or '-'}  上报级别 {data['escalation_level']}")
    click.echo(f"  反映人 {', '.join(data['reporters'])}")
    if data["resolution_note"]:
        click.echo(f"  办结说明 {data['resolution_note']}")
    if data["check"]["state"]:
        click.echo(f"  核实 {data['check']['state']}  回复截止 {data['check']['due'] or '-'}")
    deadline = data["deadline"]
    if deadline["stage"]:
        click.echo(f"  时限 {deadline['stage']} 截止 {deadline['at']}  下次检查 {deadline['next'] or '-'}")
    click.echo("  历史:")
    for e in data["history"]:
        move = e["to"] if e["from"] in (None, e["to"]) else f"{e['from']} → {e['to']}"
        click.echo(f"    {e['at']}  {e['action']:<9} {move:<22} {e['actor']}  {e['note']}")
