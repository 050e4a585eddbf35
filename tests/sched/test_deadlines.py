"""Deadlines as a transcript of sweeps: reminders, escalation up the grid, quiet hours, catch-up."""

from __future__ import annotations

import asyncio
import logging

import time_machine

from bot.app import build_scheduler
from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from handlers import council_items
from storage.models import OutboxStatus, Person, TicketState
from storage.ticket_repo import TicketRepo
from tests.sched.conftest import Desk, at, brief

MON = "2026-11-16"  # an ordinary working Monday


async def test_reminders_then_escalation_up_to_the_community(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))  # trivial: accept within 4 working hours
    assert await desk.sweep(at(f"{MON} 09:00")) == []
    assert await desk.sweep(at(f"{MON} 10:59")) == []
    assert brief(await desk.sweep(at(f"{MON} 11:00"))) == [(tid, "remind", "p-li", 0)]
    assert await desk.sweep(at(f"{MON} 11:00")) == []  # same instant again: nothing
    overdue = await desk.sweep(at(f"{MON} 13:00"))
    assert brief(overdue) == [(tid, "remind", "p-li", 0)]
    assert "已超过接单时限" in overdue[0].text
    assert await desk.sweep(at(f"{MON} 13:29")) == []
    assert brief(await desk.sweep(at(f"{MON} 13:30"))) == [(tid, "escalate", "p-tan", 1)]
    ticket = await desk.ticket(tid)
    assert (ticket.state, ticket.escalation_level, ticket.assignee_id) == ("escalated", 1, "p-li")
    # A new 4-hour window for the estate branch: reminders still go to the accountable leader.
    assert brief(await desk.sweep(at(f"{MON} 15:30"))) == [(tid, "remind", "p-li", 1)]
    assert brief(await desk.sweep(at(f"{MON} 17:30"))) == [(tid, "remind", "p-li", 1)]
    assert brief(await desk.sweep(at(f"{MON} 18:00"))) == [
        (tid, "escalate", "p-chen", 2),
        (tid, "escalate", "p-huang", 2),
    ]
    # The community is the top: later deadlines pass without another escalation.
    assert [a.action for a in await desk.sweep(at("2026-11-17 12:00"))] == ["remind"]
    assert await desk.sweep(at("2026-11-20 12:00")) == []
    ticket = await desk.ticket(tid)
    assert (ticket.state, ticket.escalation_level) == ("escalated", 2)
    actions = [(e.action, e.to_state) for e in await desk.events(tid)]
    assert actions.count(("escalate", "escalated")) == 2
    assert actions.count(("remind", "escalated")) == 3


async def test_history_and_outbox_record_each_step(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    await desk.sweep(at(f"{MON} 11:00"))
    outbox = await desk.outbox(tid)
    assert [(o.kind, o.recipient or o.chat_id) for o in outbox] == [("dm", "lixingshan"), ("say", "sim-sdc-3")]
    assert outbox[1].mentions == ["lixingshan"]
    assert all(o.not_before == at(f"{MON} 11:00") for o in outbox)
    [reminder] = await desk.reminders(tid)
    assert (reminder.action, reminder.status, reminder.recipients) == ("remind", "sent", ["p-li"])
    assert {o.topic for o in outbox} == {"remind"}
    note = (await desk.events(tid))[-1]
    assert (note.action, note.actor) == ("remind", "linli:deadlines")
    assert "李杏珊" in note.note


async def test_after_downtime_only_the_escalation_goes_out(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    await desk.sweep(at(f"{MON} 09:00"))
    # linli was down from 09:00 to 14:00: both reminders and the escalation fell due meanwhile.
    assert brief(await desk.sweep(at(f"{MON} 14:00"))) == [(tid, "escalate", "p-tan", 1)]
    assert await desk.sweep(at(f"{MON} 14:00")) == []
    statuses = [(r.action, r.status) for r in await desk.reminders(tid)]
    assert statuses == [("remind", "skipped"), ("remind", "skipped"), ("escalate", "sent")]
    assert [o.recipient for o in await desk.outbox(tid)] == ["tan"]


async def test_after_downtime_an_overdue_reminder_goes_once(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    await desk.sweep(at(f"{MON} 09:00"))
    sent = await desk.sweep(at(f"{MON} 13:10"))  # both reminders due; the later one says it all
    assert brief(sent) == [(tid, "remind", "p-li", 0)]
    assert "已超过" in sent[0].text
    assert await desk.sweep(at(f"{MON} 13:20")) == []
    assert [r.status for r in await desk.reminders(tid)] == ["skipped", "sent"]


async def test_quiet_hours_hold_reminders_and_an_escalation_withdraws_them(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 19:00"))  # deadline 23:00, escalation 23:30: both in the quiet hours
    assert brief(await desk.sweep(at(f"{MON} 21:00"))) == [(tid, "remind", "p-li", 0)]
    assert brief(await desk.sweep(at(f"{MON} 23:00"))) == [(tid, "remind", "p-li", 0)]
    held = [o for o in await desk.outbox(tid) if o.created_at == at(f"{MON} 23:00")]
    assert held
    assert all(o.not_before == at("2026-11-17 08:00") for o in held)
    assert brief(await desk.sweep(at(f"{MON} 23:30"))) == [(tid, "escalate", "p-tan", 1)]
    by_id = {o.id: o for o in await desk.outbox(tid)}
    assert all(by_id[o.id].status == OutboxStatus.SKIPPED for o in held)  # not sent late
    [escalation] = [o for o in by_id.values() if o.recipient == "tan"]
    assert (escalation.status, escalation.not_before) == ("pending", at("2026-11-17 08:00"))
    reminders = await desk.reminders(tid)
    assert [(r.action, r.status) for r in reminders] == [
        ("remind", "sent"),
        ("remind", "dropped"),
        ("escalate", "held"),
    ]
    # The estate's window starts when it is told, at 08:00, not at 23:30.
    ticket = await desk.ticket(tid)
    assert ticket.sla_started_at == at("2026-11-17 08:00")


async def test_urgent_tickets_are_not_held_at_night(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 23:00"), kind="major", urgent=True, domain="安全管理")
    actions = await desk.sweep(at(f"{MON} 23:08"))  # 15 minutes to accept: half-way reminder at 23:07:30
    assert brief(actions) == [(tid, "remind", "p-li", 0)]
    assert all(o.not_before == at(f"{MON} 23:08") for o in await desk.outbox(tid))
    assert brief(await desk.sweep(at(f"{MON} 23:45"))) == [(tid, "escalate", "p-tan", 1)]


async def test_accepting_stops_the_accept_clock_and_starts_the_resolve_clock(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    await desk.sweep(at(f"{MON} 11:00"))
    await desk.transition(tid, "accepted", at(f"{MON} 11:30"), accepted_at=at(f"{MON} 11:30"))
    assert await desk.sweep(at(f"{MON} 14:00")) == []  # no accept escalation any more
    ticket = await desk.ticket(tid)
    assert (ticket.sla_stage, ticket.sla_started_at) == ("resolve", at(f"{MON} 11:30"))
    # 48 working hours to resolve; Monday to Wednesday are working days.
    assert ticket.sla_deadline_at == at("2026-11-18 11:30")
    actions = await desk.sweep(at("2026-11-17 11:30"))
    assert brief(actions) == [(tid, "remind", "p-li", 0)]
    assert "办结" in actions[0].text
    await desk.transition(tid, "resolved", at("2026-11-17 12:00"), resolved_at=at("2026-11-17 12:00"))
    assert await desk.sweep(at("2026-11-30 12:00")) == []
    ticket = await desk.ticket(tid)
    assert (ticket.sla_stage, ticket.sla_due_at) == (None, None)


async def test_a_held_reminder_is_withdrawn_when_the_leader_accepts_first(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 19:00"))
    await desk.sweep(at(f"{MON} 23:00"))
    await desk.transition(tid, "accepted", at("2026-11-17 07:00"), accepted_at=at("2026-11-17 07:00"))
    assert await desk.sweep(at("2026-11-17 07:01")) == []
    pending = [o for o in await desk.outbox(tid) if o.status == OutboxStatus.PENDING]
    assert pending == []


async def test_a_leader_who_left_does_not_stall_tickets(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    await desk.sweep(at(f"{MON} 09:00"))
    async with desk.store.sessions.begin() as s:
        person = await s.get(Person, "p-li")
        assert person is not None
        person.active = False
    actions = await desk.sweep(at(f"{MON} 09:05"))
    assert brief(actions) == [(tid, "escalate", "p-tan", 1)]
    assert "已不在岗" in actions[0].text
    assert await desk.sweep(at(f"{MON} 09:06")) == []
    # The next window's reminders are not sent to someone who left.
    assert await desk.sweep(at(f"{MON} 11:05")) == []


async def test_an_estate_ticket_escalates_straight_to_the_community(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"), unit="sdc", chat="sim-sdc", assignee="p-tan")
    actions = await desk.sweep(at(f"{MON} 13:30"))
    assert brief(actions) == [(tid, "escalate", "p-chen", 1), (tid, "escalate", "p-huang", 1)]


async def test_the_scheduled_sweep_reads_the_clock(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"))
    scheduler = build_scheduler(desk.settings, JobRunner(desk.store.sessions, desk.settings))
    with time_machine.travel(at(f"{MON} 11:00"), tick=False):
        actions = await scheduler.run("sweep_deadlines")
    assert brief(actions) == [(tid, "remind", "p-li", 0)]


async def test_tickets_opened_before_a_restart_are_caught_up(desk: Desk, caplog: object) -> None:
    first = await desk.open(at(f"{MON} 09:00"))
    second = await desk.open(at(f"{MON} 10:00"), unit="lxc-5", chat="sim-lxc-5", assignee="p-feng")
    logging.getLogger("handlers.deadlines").setLevel(logging.INFO)
    actions = await desk.sweep(at(f"{MON} 13:45"))
    assert brief(actions) == [(first, "escalate", "p-tan", 1), (second, "remind", "p-feng", 0)]


async def test_a_matter_before_the_council_gets_no_reminders_or_escalations(desk: Desk) -> None:
    tid = await desk.open(at(f"{MON} 09:00"), kind="major", domain="空间管理", summary="加装电梯意见征集")

    async def take_up(ctx: JobContext) -> JobOutcome:
        ticket = await ctx.tickets.get(tid)
        assert ticket is not None
        await council_items.add_ticket(ctx, ticket, by=None, at=ctx.now)
        return JobOutcome()

    await desk.run(take_up, at(f"{MON} 10:00"))
    assert await desk.sweep(at(f"{MON} 10:00")) == []
    assert await desk.sweep(at("2026-12-30 10:00")) == []  # weeks past the major deadline: the council decides
    ticket = await desk.ticket(tid)
    assert (ticket.state, ticket.escalation_level, ticket.sla_due_at) == ("assigned", 0, None)
    assert [r.action for r in await desk.reminders(tid)] == []


async def test_a_command_reads_the_ticket_as_the_sweep_leaves_it(desk: Desk) -> None:
    """The sweep escalates a ticket while a leader's 接单 comes in: the command waits for the sweep's commit and
    reads the escalated ticket, instead of reading it before and writing over the escalation after (on
    SQLite too, where a plain read takes no lock)."""
    tid = await desk.open(at(f"{MON} 09:00"))

    async def accept() -> str:
        async with desk.store.sessions.begin() as session:
            repo = TicketRepo(session)
            ticket = await repo.get(tid, for_update=True)
            assert ticket is not None
            found = ticket.state
            await repo.transition(ticket, TicketState.ACCEPTED, actor="sim:li", action="accept", at=at(f"{MON} 13:31"))
            return found

    async with desk.store.sessions.begin() as session:
        repo = TicketRepo(session)
        ticket = await repo.get(tid, for_update=True)
        assert ticket is not None
        await repo.transition(ticket, TicketState.ESCALATED, actor="linli", action="escalate", at=at(f"{MON} 13:30"))
        ticket.escalation_level = 1
        await session.flush()
        command = asyncio.create_task(accept())
        await asyncio.sleep(1)
        assert not command.done()
    assert await asyncio.wait_for(command, timeout=30) == TicketState.ESCALATED
    ticket = await desk.ticket(tid)
    assert (ticket.state, ticket.escalation_level) == (TicketState.ACCEPTED, 1)
    assert [(e.action, e.from_state) for e in await desk.events(tid)][-2:] == [
        ("escalate", "assigned"),
        ("accept", "escalated"),
    ]


async def test_a_change_committed_while_the_sweep_runs_is_not_overwritten(desk: Desk) -> None:
    """A leader accepts (the ticket row locked, as every command locks it) while the sweep finds the ticket
    due: the sweep must not write back the state it read before the accept committed."""
    tid = await desk.open(at(f"{MON} 09:00"))
    async with desk.store.sessions.begin() as session:
        repo = TicketRepo(session)
        ticket = await repo.get(tid, for_update=True)
        assert ticket is not None
        await repo.transition(ticket, TicketState.ACCEPTED, actor="sim:li", action="accept", at=at(f"{MON} 10:59"))
        await session.flush()
        sweep = asyncio.create_task(desk.sweep(at(f"{MON} 11:00")))
        await asyncio.sleep(1)  # the sweep reads and plans while the accept is not yet committed
    await asyncio.wait_for(sweep, timeout=30)
    ticket = await desk.ticket(tid)
    assert ticket.state == TicketState.ACCEPTED
    assert [r.action for r in await desk.reminders(tid)] == []
