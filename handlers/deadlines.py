"""Deadlines: remind the assignee before and at each deadline, escalate one grid level up once it passes.

The database is the source of truth. Each ticket row carries its current window (``sla_stage``: accept
or resolve, ``sla_started_at``, ``sla_deadline_at``), how many of the window's steps are done
(``sla_step``) and when the sweep must look again (``sla_due_at``). The job ``sweep_deadlines`` takes
a lock, reads a batch of tickets whose ``sla_due_at`` has passed (``storage.deadline_repo``), lets the
``Planner`` decide in memory what is due *now* (once, however long linli was down), and writes the
result back; every reminder and escalation is recorded in ``ticket_reminders`` under a unique
(ticket, cycle, step) key and in the ticket's history, and its messages go out through the outbox.

Clocks: while a ticket is assigned, reopened, or escalated before anyone accepted it, the *accept*
clock runs; once accepted, the *resolve* clock runs (an escalation keeps the clock it interrupted).
Any other state stops the clocks. Escalation moves the ticket to ``escalated`` (by the lifecycle's rule),
raises ``escalation_level`` and tells the people serving the next unit up that has anyone; the assignee
stays accountable and keeps getting the reminders. A new window of the same length starts for every level,
from when its people are told (after the quiet hours, if they hold the escalation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import JobContext
from bot.jobs import JobOutcome
from bot.message import DirectMessage, OutgoingMessage, Say, Topic
from bot.texts import chat as chat_texts
from bot.texts import schedule as texts
from config.schedule import DeadlinePolicy, ScheduleSettings
from config.settings import Settings
from handlers.escalation import escalation_step
from handlers.lifecycle import Action, may_wait, next_state
from handlers.routing import address
from handlers.worktime import WorkCalendar
from storage.council_repo import CouncilRepo
from storage.deadline_repo import DeadlineRepo, DueTicket, SweepWrites
from storage.models import Person, TicketState
from storage.org_repo import Grid

log = logging.getLogger(__name__)

ACTOR = "linli:deadlines"
BATCH = 5_000
LEFT_STEP = -1
"""The step key of an escalation because the assignee left (one per window)."""


class Stage(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"


class Status(StrEnum):
    SENT = "sent"
    """Handed to the outbox for sending now."""
    HELD = "held"
    """Handed to the outbox, held until the quiet hours end."""
    SKIPPED = "skipped"
    """Not sent: overtaken by a later reminder or an escalation before it went out."""
    DROPPED = "dropped"
    """Was held, then withdrawn from the outbox because the ticket moved on first."""
    TOP = "top"
    """An escalation with no level left above: the top of the grid already knows."""


ACCEPT_STATES = frozenset({TicketState.ASSIGNED, TicketState.REOPENED})
CLOCK_STATES = (*ACCEPT_STATES, TicketState.ACCEPTED, TicketState.ESCALATED)


def stage_for(state: str, current: str | None) -> Stage | None:
    """Which clock runs in ``state``; an escalated ticket keeps the clock that was running."""
    if state in ACCEPT_STATES:
        return Stage.ACCEPT
    if state == TicketState.ACCEPTED:
        return Stage.RESOLVE
    if state == TicketState.ESCALATED:
        return Stage(current) if current else Stage.ACCEPT
    return None


@dataclass(frozen=True)
class Step:
    index: int
    action: str
    """``remind`` or ``escalate``."""
    at: datetime
    overdue: bool


def plan(
    start: datetime, policy: DeadlinePolicy, stage: Stage, schedule: ScheduleSettings, cal: WorkCalendar
) -> tuple[datetime, list[Step]] | None:
    """The deadline and the steps of one window, or None if this stage has no deadline."""
    span = policy.accept if stage is Stage.ACCEPT else policy.resolve
    if span is None:
        return None
    deadline = cal.add(start, span, policy.clock)
    steps = [
        Step(i, "remind", cal.add(start, span * fraction, policy.clock), fraction >= 1)
        for i, fraction in enumerate(schedule.escalation.remind_at)
    ]
    steps.append(Step(len(steps), "escalate", deadline + schedule.escalation.after_deadline, True))
    return deadline, steps


@dataclass(frozen=True)
class SweepAction:
    """One reminder or escalation delivered to one person: a line of ``linli deadlines run --json``."""

    ticket: int
    action: str
    to: str
    level: int
    text: str
    send_at: datetime
    """When it goes out: the sweep's time, or the end of the quiet hours that hold it."""

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "action": self.action,
            "to": self.to,
            "level": self.level,
            "text": self.text,
            "send_at": self.send_at.isoformat(),
        }


@dataclass
class SweepPlan:
    """What one batch of due tickets comes to: the writes, the messages, the report, what to withdraw."""

    tickets: Sequence[DueTicket]
    events: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[dict[str, Any]] = field(default_factory=list)
    messages: list[OutgoingMessage] = field(default_factory=list)
    actions: list[SweepAction] = field(default_factory=list)
    withdraw: dict[int, list[int]] = field(default_factory=dict)
    """Ticket id -> its held reminders, overtaken: their messages are taken back out of the outbox."""

    def writes(self, withdrawn: set[int]) -> SweepWrites:
        """The batch's writes, once the outbox has said which tickets' held messages it took back."""
        settled = [
            (rid, str(Status.DROPPED if tid in withdrawn else Status.SENT))
            for tid, rids in self.withdraw.items()
            for rid in rids
        ]
        return SweepWrites(self.tickets, self.events, self.reminders, settled)


class Planner:
    """Decides, without I/O, what is due for a batch of tickets at one instant."""

    def __init__(
        self, settings: Settings, now: datetime, grid: Grid, send_at: Callable[[OutgoingMessage], datetime]
    ) -> None:
        self.schedule = settings.schedule
        self.tz = ZoneInfo(settings.timezone)
        self.cal = WorkCalendar(self.tz, self.schedule.working_hours)
        self.now = now.astimezone(UTC)
        self.grid = grid
        self.send_at = send_at

    def plan(
        self,
        tickets: Sequence[DueTicket],
        entered: dict[int, datetime],
        held: dict[int, list[int]],
        council: Collection[int] = (),
    ) -> SweepPlan:
        """``entered``: when each ticket entered its state; ``held``: its reminders the quiet hours hold;
        ``council``: the tickets that wait for their council result (their deadlines stop)."""
        out = SweepPlan(tickets)
        for ticket in tickets:
            if ticket.id in council:
                self._stop(out, ticket, held)
            else:
                self._advance(out, ticket, entered, held)
        return out

    def _stop(self, out: SweepPlan, ticket: DueTicket, held: dict[int, list[int]]) -> None:
        """A matter before the council follows the council's rhythm (docs/council.md), not the grid's deadlines:
        no more reminders or escalations, and what the quiet hours still hold is taken back."""
        self._withdraw(out, ticket, held)
        ticket.sla_state = ticket.state
        ticket.sla_due_at = ticket.sla_deadline_at = None

    def _escalation_target(self, ticket: DueTicket) -> tuple[int, list[Person]] | None:
        """(new level, people) one step up from where the ticket now stands, skipping empty levels."""
        assignee = self.grid.people.get(ticket.assignee_id or "")
        step = escalation_step(
            self.grid.chain(ticket.unit_id),
            assignee.unit_id if assignee is not None else None,
            ticket.escalation_level,
            self.grid.responsible,
        )
        return (step[0], list(step[2])) if step is not None else None

    def _advance(
        self, out: SweepPlan, ticket: DueTicket, entered: dict[int, datetime], held: dict[int, list[int]]
    ) -> None:
        now = self.now
        stage = stage_for(ticket.state, ticket.sla_stage)
        if ticket.sla_state != ticket.state:
            # The ticket moved (accepted, reopened, resolved, ...): withdraw what was held, start afresh.
            self._withdraw(out, ticket, held)
            ticket.sla_state = ticket.state
            ticket.sla_cycle += 1
            ticket.sla_step = 0
            ticket.sla_stage = stage.value if stage else None
            start = ticket.accepted_at if stage is Stage.RESOLVE and ticket.accepted_at else None
            ticket.sla_started_at = start or entered.get(ticket.id) or ticket.opened_at
        if stage is None:
            ticket.sla_due_at = ticket.sla_deadline_at = None
            return
        policy = self.schedule.policy(ticket.kind, ticket.urgent, ticket.domain)
        assert ticket.sla_started_at is not None
        planned = plan(ticket.sla_started_at, policy, stage, self.schedule, self.cal)
        if planned is None:
            ticket.sla_due_at = ticket.sla_deadline_at = None
            return
        deadline, steps = planned
        ticket.sla_deadline_at = deadline
        assignee = self.grid.people.get(ticket.assignee_id or "")
        left = ticket.escalation_level == 0 and (assignee is None or not assignee.active)
        due = [s for s in steps[ticket.sla_step :] if s.at <= now]
        escalation = next((s for s in due if s.action == "escalate"), None)
        if escalation is not None and not left and self._escalation_target(ticket) is None:
            # The top of the grid: nobody to escalate to, so the reminders are not overtaken.
            self._record(out, ticket, escalation.index, "escalate", escalation.at, Status.TOP, [])
            due = [s for s in due if s.action == "remind"]
            escalation = None
            ticket.sla_step = len(steps)
        if left or escalation is not None:
            for step in due:
                if step.action == "remind":
                    self._record(out, ticket, step.index, "remind", step.at, Status.SKIPPED, [])
            self._escalate(out, ticket, stage, escalation, deadline, assignee, held)
            return
        if due:
            for step in due[:-1]:
                self._record(out, ticket, step.index, "remind", step.at, Status.SKIPPED, [])
            self._remind(out, ticket, stage, due[-1], deadline, assignee)
            ticket.sla_step = max(ticket.sla_step, due[-1].index + 1)
        ticket.sla_due_at = steps[ticket.sla_step].at if ticket.sla_step < len(steps) else None

    def _withdraw(self, out: SweepPlan, ticket: DueTicket, held: dict[int, list[int]]) -> None:
        if ticket.id in held:
            out.withdraw[ticket.id] = held.pop(ticket.id)

    def _record(
        self,
        out: SweepPlan,
        ticket: DueTicket,
        step: int,
        action: str,
        due_at: datetime,
        status: Status,
        recipients: list[str],
    ) -> None:
        out.reminders.append(
            {
                "ticket_id": ticket.id,
                "cycle": ticket.sla_cycle,
                "step": step,
                "action": action,
                "stage": ticket.sla_stage or "",
                "level": ticket.escalation_level,
                "due_at": due_at,
                "at": self.now,
                "status": status,
                "recipients": recipients,
            }
        )

    def _group_name(self, ticket: DueTicket) -> str:
        return self.grid.group_names.get((ticket.platform, ticket.chat_id)) or ticket.chat_id

    def _emit(self, out: SweepPlan, messages: Sequence[OutgoingMessage]) -> tuple[Status, datetime]:
        """Queue the messages; whether the quiet hours hold them, and when they go."""
        out.messages.extend(messages)
        go = max((self.send_at(m) for m in messages), default=self.now).astimezone(self.tz)
        return (Status.HELD if go > self.now else Status.SENT), go

    def _remind(
        self, out: SweepPlan, ticket: DueTicket, stage: Stage, step: Step, deadline: datetime, assignee: Person | None
    ) -> None:
        if assignee is None or not assignee.active:
            self._record(out, ticket, step.index, "remind", step.at, Status.SKIPPED, [])
            return
        local_deadline = deadline.astimezone(self.tz)
        text = texts.remind(
            ticket.id, stage, ticket.summary, self._group_name(ticket), local_deadline, overdue=step.overdue
        )
        hold = may_wait(ticket)
        messages: list[OutgoingMessage] = []
        target = address(assignee, ticket.platform)
        if target is not None:
            messages.append(DirectMessage(target[0], target[1], text, ticket=ticket.id, topic=Topic.REMIND, hold=hold))
        escalation = self.schedule.escalation
        own_id = next((i.user_id for i in assignee.identities if i.platform == ticket.platform), None)
        if escalation.mention_in_group and own_id and ticket.platform in escalation.mention_platforms:
            nudge = texts.group_nudge(assignee.name, ticket.id, stage, local_deadline, overdue=step.overdue)
            messages.append(
                Say(ticket.platform, ticket.chat_id, nudge, (own_id,), ticket=ticket.id, topic=Topic.REMIND, hold=hold)
            )
        status, go = self._emit(out, messages)
        self._record(out, ticket, step.index, "remind", step.at, status, [assignee.id])
        self._event(out, ticket, "remind", ticket.state, texts.history_note("remind", stage, [assignee.name]))
        out.actions.append(SweepAction(ticket.id, "remind", assignee.id, ticket.escalation_level, text, go))

    def _escalate(
        self,
        out: SweepPlan,
        ticket: DueTicket,
        stage: Stage,
        step: Step | None,
        deadline: datetime,
        assignee: Person | None,
        held: dict[int, list[int]],
    ) -> None:
        step_index = step.index if step is not None else LEFT_STEP
        due_at = step.at if step is not None else self.now
        self._withdraw(out, ticket, held)
        target = self._escalation_target(ticket)
        if target is None:
            self._record(out, ticket, step_index, "escalate", due_at, Status.TOP, [])
            ticket.sla_step = step_index + 1 if step is not None else ticket.sla_step
            ticket.sla_due_at = None
            log.info("ticket #%d is overdue at the top of the grid; nobody left to escalate to", ticket.id)
            return
        level, people = target
        left = step is None
        text = texts.escalated(
            ticket.id,
            ticket.summary,
            self._group_name(ticket),
            assignee.name if assignee else chat_texts.UNASSIGNED,
            stage,
            None if left else deadline.astimezone(self.tz),
            assignee_left=left,
        )
        messages: list[OutgoingMessage] = []
        for person in people:
            reach = address(person, ticket.platform)
            if reach is not None:
                messages.append(
                    DirectMessage(
                        reach[0], reach[1], text, ticket=ticket.id, topic=Topic.ESCALATE, hold=may_wait(ticket)
                    )
                )
        status, go = self._emit(out, messages)
        self._record(out, ticket, step_index, "escalate", due_at, status, [p.id for p in people])
        note = texts.history_note("escalate", stage, [p.name for p in people], texts.escalation_reason(left=left))
        escalated = next_state(ticket.id, ticket.state, Action.ESCALATE)
        self._event(out, ticket, "escalate", ticket.state, note, to_state=escalated)
        ticket.escalation_level = level
        ticket.state = escalated
        out.actions.extend(SweepAction(ticket.id, "escalate", p.id, level, text, go) for p in people)
        # A new window for the new level, from when its people are told.
        ticket.sla_state = escalated
        ticket.sla_stage = stage.value
        ticket.sla_cycle += 1
        ticket.sla_step = 0
        ticket.sla_started_at = go
        policy = self.schedule.policy(ticket.kind, ticket.urgent, ticket.domain)
        planned = plan(go, policy, stage, self.schedule, self.cal)
        if planned is None:
            ticket.sla_due_at = ticket.sla_deadline_at = None
        else:
            ticket.sla_deadline_at, steps = planned
            ticket.sla_due_at = steps[0].at

    def _event(
        self, out: SweepPlan, ticket: DueTicket, action: str, from_state: str, note: str, to_state: str | None = None
    ) -> None:
        out.events.append(
            {
                "ticket_id": ticket.id,
                "at": self.now,
                "actor": ACTOR,
                "action": action,
                "from_state": from_state,
                "to_state": to_state or ticket.state,
                "note": note,
            }
        )


async def sweep_deadlines(ctx: JobContext) -> JobOutcome:
    """The job: one batch of the reminders and escalations due at ``ctx.now``; ``more`` while batches are full."""
    repo = DeadlineRepo(ctx.session)
    log.debug("sweeping deadlines at %s", ctx.now.isoformat())
    await repo.lock(ctx.now)
    await repo.flag_left_assignees(ctx.now, CLOCK_STATES)
    tickets = await repo.due(ctx.now, BATCH)
    if not tickets:
        return JobOutcome()
    planner = Planner(ctx.settings, ctx.now, await ctx.org.grid(), ctx.send_at)
    ids = [t.id for t in tickets]
    entered = await repo.state_entered([t.id for t in tickets if t.sla_state != t.state])
    council = await CouncilRepo(ctx.session).holding(ids)
    swept = planner.plan(tickets, entered, await repo.held(ids, Status.HELD), council)
    withdrawn = await ctx.withdraw(list(swept.withdraw))
    await repo.write(swept.writes(withdrawn))
    if swept.actions:
        log.info("deadline sweep at %s: %d action(s)", ctx.now.isoformat(), len(swept.actions))
    return JobOutcome(messages=swept.messages, more=len(tickets) == BATCH, report=swept.actions)
