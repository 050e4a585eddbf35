"""``linli tickets``: the staff's view of tickets — list, show, assign, close, export (the 台账)."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from bot.app import Store, open_store
from bot.cli.common import fail, settings_or_exit
from bot.cli.ticket_show import show, ticket_json
from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from bot.message import OutgoingMessage
from bot.texts import chat as texts
from bot.texts.names import mask_personal, state_title
from handlers import lifecycle
from storage.models import Ticket, TicketState
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketFilter, TicketRepo

STATES = [s.value for s in TicketState]


def render_table(tickets: Sequence[Ticket], *, decisions: bool = False) -> None:
    table = Table(title=f"工单 tickets ({len(tickets)})")
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
    Console(width=160).print(table)


async def print_ticket_table(store: Store, *, decisions: bool = False) -> None:
    async with store.sessions() as session:
        render_table(await TicketRepo(session).list(), decisions=decisions)


async def select_tickets(
    store: Store,
    *,
    community: str | None,
    estate: str | None,
    building: str | None,
    states: Sequence[str],
    kind: str | None,
    overdue: bool = False,
) -> Sequence[Ticket]:
    async with store.sessions() as session:
        units: list[str] | None = None
        if building:
            units = [building]
        elif estate:
            units = await OrgRepo(session).subtree(estate)
        where = TicketFilter(
            community_id=community,
            unit_ids=units,
            states=list(states) or None,
            kind=kind,
            overdue_at=datetime.now(UTC) if overdue else None,
        )
        return await TicketRepo(session).list(where)


F = TypeVar("F", bound=Callable[..., Any])


def filters(command: F) -> F:
    options = [
        click.option("--community", help="Only this community (id)."),
        click.option("--estate", help="Only this estate (id) and the buildings in it."),
        click.option("--building", help="Only this building (id)."),
        click.option("--state", "states", multiple=True, type=click.Choice(STATES), help="Only these states."),
        click.option("--kind", type=click.Choice(["trivial", "major"])),
        click.option("--overdue", is_flag=True, help="Only unfinished tickets past their current deadline."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group()
def tickets() -> None:
    """Tickets on the grid."""


tickets.add_command(show)


@tickets.command("list")
@filters
@click.option("--json", "as_json", is_flag=True, help="One JSON array of tickets on stdout.")
def list_(as_json: bool, **where: Any) -> None:
    """List tickets (a table, or JSON)."""
    settings = settings_or_exit()

    async def go() -> Sequence[Ticket]:
        async with open_store(settings) as store:
            return await select_tickets(store, **where)

    found = asyncio.run(go())
    if as_json:
        click.echo(json.dumps([ticket_json(t) for t in found], ensure_ascii=False, indent=2))
    else:
        render_table(found)


StaffAction = Callable[[JobContext, Ticket], Awaitable[list[OutgoingMessage] | str]]
"""Changes one ticket through the lifecycle: what to tell people, or why it cannot."""


def _staff_action(number: int, describe: str, act: StaffAction) -> None:
    """Run ``act`` on ticket ``number`` in one transaction through the kernel, which queues what it says."""
    settings = settings_or_exit()

    async def job(ctx: JobContext) -> JobOutcome:
        ticket = await ctx.tickets.get(number, for_update=True)
        if ticket is None:
            return JobOutcome(report=[f"no ticket #{number}"])
        try:
            result = await act(ctx, ticket)
        except lifecycle.IllegalTransition as exc:
            return JobOutcome(report=[f"#{number} is {exc.state}: cannot {describe}"])
        except lifecycle.OutsideCommunity as exc:
            return JobOutcome(report=[f"'{exc.person_id}' serves another community than #{number}: cannot {describe}"])
        if isinstance(result, str):
            return JobOutcome(report=[result])
        return JobOutcome(messages=result)

    async def go() -> list[Any]:
        async with open_store(settings) as store:
            return await JobRunner(store.sessions, settings).run(job, datetime.now(UTC), name=f"tickets {describe}")

    problems = asyncio.run(go())
    if problems:
        fail(str(problems[0]), code=1)
    click.echo(f"#{number}: {describe} done", err=True)


@tickets.command()
@click.argument("number", type=int)
@click.argument("person")
@click.option("--by", "actor", default="staff", show_default=True, help="Who is acting, for the history.")
def assign(number: int, person: str, actor: str) -> None:
    """Give ticket NUMBER to PERSON (a person id from `linli org show`); they are told, as by 转派."""

    async def act(ctx: JobContext, ticket: Ticket) -> list[OutgoingMessage] | str:
        target = await ctx.org.person(person)
        if target is None or not target.active:
            return f"unknown person '{person}'"
        by = await ctx.org.person(actor)
        name = by.name if by is not None else texts.STAFF
        outcome = await lifecycle.transfer(ctx, ticket, target, by=name, actor=actor, at=ctx.now)
        return outcome.messages(ticket)

    _staff_action(number, "assign", act)


@tickets.command()
@click.argument("number", type=int)
@click.option("--by", "actor", default="staff", show_default=True)
@click.option("--note", default="", help="Why it is closed.")
def close(number: int, actor: str, note: str) -> None:
    """Close a resolved ticket."""

    async def act(ctx: JobContext, ticket: Ticket) -> list[OutgoingMessage] | str:
        await lifecycle.close(ctx, ticket, actor=actor, at=ctx.now, note=note)
        return []

    _staff_action(number, "close", act)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""What makes Excel, WPS or LibreOffice read a cell as a formula (full-width forms included: WPS converts)."""


def spreadsheet_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading quote before anything it would run (OWASP's advice)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


EXPORT_COLUMNS = [
    "编号",
    "状态",
    "类别",
    "紧急",
    "服务领域",
    "单元",
    "责任人",
    "反映人",
    "摘要",
    "受理时间",
    "接单时间",
    "办结时间",
    "关闭时间",
    "办结说明",
]


@tickets.command()
@filters
@click.option("--csv", "as_csv", is_flag=True, required=True, help="CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-")
def export(as_csv: bool, out: str, **where: Any) -> None:
    """The community's ledger (台账) as CSV."""
    settings = settings_or_exit()

    async def go() -> Sequence[Ticket]:
        async with open_store(settings) as store:
            return await select_tickets(store, **where)

    rows = asyncio.run(go())
    sink = sys.stdout if out == "-" else open(out, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
    try:
        writer = csv.writer(sink)
        writer.writerow(EXPORT_COLUMNS)
        for t in rows:
            cells = [
                t.id,
                state_title(t.state),
                t.kind,
                "是" if t.urgent else "否",
                t.domain,
                t.unit_id,
                t.assignee_id or "",
                "、".join(r.sender_name or r.sender_id for r in t.reporters),
                t.summary,
                t.opened_at.isoformat(),
                t.accepted_at.isoformat() if t.accepted_at else "",
                t.resolved_at.isoformat() if t.resolved_at else "",
                t.closed_at.isoformat() if t.closed_at else "",
                t.resolution_note,
            ]
            writer.writerow([spreadsheet_safe(mask_personal(str(cell))) for cell in cells])
    finally:
        if sink is not sys.stdout:
            sink.close()
