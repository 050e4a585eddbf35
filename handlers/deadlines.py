"""Deadlines: remind the assignee before and at each deadline, escalate one grid level up once it passes.

The database is the source of truth. Each ticket row carries its current window (``sla_stage``: accept
or resolve, ``sla_started_at``, ``sla_deadline_at``), how many of the window's steps are done
(``sla_step``) and when the sweep must look again (``sla_due_at``). A sweep takes a lock row, reads only
the tickets whose ``sla_due_at`` has passed, performs what is due *now* (once, however long linli was
down) and moves ``sla_due_at`` on. Every reminder and escalation is written to ``ticket_reminders``
under a unique (ticket, cycle, step) key and to the ticket's history, in the same transaction as the
outbox rows that carry it.

Clocks: while a ticket is assigned, reopened, or escalated before anyone accepted it, the *accept*
clock runs; once accepted, the *resolve* clock runs (an escalation keeps the clock it interrupted).
Any other state stops the clocks. Escalation moves the ticket to ``escalated``, raises
``escalation_level`` and tells the people serving the next unit up that has anyone; the assignee stays
accountable and keeps getting the reminders. A new window of the same length starts for every level.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import texts_schedule as texts
from bot.message import DirectMessage, OutgoingMessage, Say
from config.schedule import DeadlinePolicy, ScheduleSettings
from config.settings import Settings
from handlers.escalation import escalation_step
from handlers.routing import address
from handlers.worktime import WorkCalendar
from storage.job_repo import JobRepo
from storage.models import (
    ChatGroup,
    OutboxItem,
    OutboxStatus,
    Person,
    Role,
    Ticket,
    TicketEvent,
    TicketReminder,
    TicketState,
    Unit,
)

log = logging.getLogger(__name__)

ACTOR = "linli:deadlines"
LOCK = ("deadlines", "sweep-lock")
BATCH = 5_000
MAX_BATCHES = 1_000
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

    def as_json(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "action": self.action, "to": self.to, "level": self.level, "text": self.text}


class Grid:
    """The org as one sweep needs it, read once: units, who serves each, how to reach them, group names."""

    def __init__(self, units: Sequence[Unit], people: Sequence[Person], groups: Sequence[ChatGroup]) -> None:
        self.parent = {u.id: u.parent_id for u in units}
        self.people = {p.id: p for p in people}
        self.serving: dict[str, list[Person]] = defaultdict(list)
        for person in people:
            if person.active and person.role != Role.RESIDENT:
                self.serving[person.unit_id].append(person)
        self.group_names = {(g.platform, g.chat_id): g.name for g in groups}

    @classmethod
    async def load(cls, session: AsyncSession) -> Grid:
        units = (await session.scalars(select(Unit))).all()
        people = (await session.scalars(select(Person).order_by(Person.id))).all()
        groups = (await session.scalars(select(ChatGroup))).all()
        return cls(units, people, groups)

    def chain(self, unit_id: str) -> list[str]:
        chain: list[str] = []
        current: str | None = unit_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent.get(current)
        return chain

    def escalation_target(self, ticket: DueTicket) -> tuple[int, list[Person]] | None:
        """(new level, people) one step up from where the ticket now stands, skipping empty levels."""
        assignee = self.people.get(ticket.assignee_id or "")
        step = escalation_step(
            self.chain(ticket.unit_id),
            assignee.unit_id if assignee is not None else None,
            ticket.escalation_level,
            lambda unit_id: self.serving.get(unit_id, []),
        )
        return (step[0], list(step[2])) if step is not None else None


TICKET_COLUMNS = (
    "id",
    "state",
    "kind",
    "urgent",
    "domain",
    "summary",
    "platform",
    "chat_id",
    "unit_id",
    "assignee_id",
    "opened_at",
    "accepted_at",
    "escalation_level",
    "sla_state",
    "sla_stage",
    "sla_cycle",
    "sla_step",
    "sla_started_at",
    "sla_deadline_at",
    "sla_due_at",
)
OUTBOX_TABLE = cast(Table, OutboxItem.__table__)
UPDATED = ("state", "escalation_level", *TICKET_COLUMNS[13:])


@dataclass(slots=True)
class DueTicket:
    """A ticket row as the sweep reads and changes it (plain data: no ORM bookkeeping per ticket)."""

    id: int
    state: str
    kind: str
    urgent: bool
    domain: str
    summary: str
    platform: str
    chat_id: str
    unit_id: str
    assignee_id: str | None
    opened_at: datetime
    accepted_at: datetime | None
    escalation_level: int
    sla_state: str | None
    sla_stage: str | None
    sla_cycle: int
    sla_step: int
    sla_started_at: datetime | None
    sla_deadline_at: datetime | None
    sla_due_at: datetime | None


@dataclass
class Batch:
    """What one batch writes, gathered first and then inserted in a few statements."""

    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[tuple[dict[str, Any], range]] = field(default_factory=list)
    withdrawals: list[TicketReminder] = field(default_factory=list)


def outbox_values(message: OutgoingMessage, *, ticket_id: int, now: datetime, release: datetime) -> dict[str, Any]:
    """An outbox row as plain values (what bot.pipeline.outbox_row makes, without an ORM object per row)."""
    values: dict[str, Any] = {
        "created_at": now,
        "not_before": release,
        "platform": message.platform,
        "kind": message.kind,
        "chat_id": None,
        "recipient": None,
        "text": "",
        "mentions": [],
        "image_path": None,
        "in_reply_to": None,
        "ticket_id": ticket_id,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
    }
    if isinstance(message, Say):
        values.update(chat_id=message.chat_id, text=message.text, mentions=list(message.mentions))
    elif isinstance(message, DirectMessage):
        values.update(recipient=message.to, text=message.text)
    else:
        values.update(chat_id=message.chat_id, image_path=message.path, text=message.caption)
    return values


class Sweep:
    """One sweep at one instant, over batches of due tickets, each batch in its own transaction."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings = settings
        self.schedule = settings.schedule
        self.tz = ZoneInfo(settings.timezone)
        self.cal = WorkCalendar(self.tz, self.schedule.working_hours)
        self.now = now.astimezone(UTC)
        self.quiet_release = self.schedule.quiet_hours.release_at(self.now, self.tz)
        self.actions: list[SweepAction] = []
        self.batch = Batch()
        self.grid: Grid | None = None

    def release(self, ticket: DueTicket) -> datetime:
        return self.now if ticket.urgent else self.quiet_release

    async def run_batch(self, session: AsyncSession) -> int:
        """Process up to BATCH due tickets; returns how many were looked at (0: nothing left)."""
        await JobRepo(session).lock(*LOCK, self.now)
        await self._flag_left_assignees(session)
        columns = [getattr(Ticket, name) for name in TICKET_COLUMNS]
        rows = await session.execute(
            select(*columns).where(Ticket.sla_due_at <= self.now).order_by(Ticket.sla_due_at, Ticket.id).limit(BATCH)
        )
        tickets = [DueTicket(**dict(row._mapping)) for row in rows.all()]
        if not tickets:
            return 0
        if self.grid is None:  # the org does not change during one sweep; read it once
            self.grid = await Grid.load(session)
        grid = self.grid
        entered = await self._state_entered(session, [t.id for t in tickets if t.sla_state != t.state])
        held = await self._held_reminders(session, [t.id for t in tickets])
        self.batch = Batch()
        for ticket in tickets:
            self._advance(ticket, grid, entered, held)
        await self._write(session, tickets)
        return len(tickets)

    async def _write(self, session: AsyncSession, tickets: Sequence[DueTicket]) -> None:
        batch = self.batch
        ids: list[int] = []
        if batch.outbox:
            # Core executemany: the ORM's bulk insert sends one statement per outbox row here.
            await session.execute(insert(OUTBOX_TABLE), batch.outbox)
            ids = await self._outbox_ids(session, batch.outbox)
        if batch.reminders:
            values = [{**reminder, "outbox_ids": [ids[i] for i in span]} for reminder, span in batch.reminders]
            await session.execute(insert(TicketReminder), values)
        if batch.events:
            await session.execute(insert(TicketEvent), batch.events)
        await session.execute(
            update(Ticket), [{"id": t.id, **{name: getattr(t, name) for name in UPDATED}} for t in tickets]
        )
        await withdraw(session, batch.withdrawals)

    async def _outbox_ids(self, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
        """The ids of the rows just inserted (read back: one INSERT ... RETURNING per row is far slower on SQLite).

        Within one sweep (ticket, kind, recipient or chat) is unique; the newest row wins if an earlier sweep
        at the same instant wrote the same key.
        """
        ticket_ids = sorted({row["ticket_id"] for row in rows})
        by_key: dict[tuple[int, str, str | None], int] = {}
        for start in range(0, len(ticket_ids), 500):
            found = await session.execute(
                select(OutboxItem.id, OutboxItem.ticket_id, OutboxItem.kind, OutboxItem.recipient, OutboxItem.chat_id)
                .where(
                    OutboxItem.ticket_id.in_(ticket_ids[start : start + 500]),
                    OutboxItem.created_at == self.now,
                    OutboxItem.in_reply_to.is_(None),
                )
                .order_by(OutboxItem.id)
            )
            for row_id, ticket_id, kind, recipient, chat_id in found.all():
                assert ticket_id is not None
                by_key[(ticket_id, kind, recipient or chat_id)] = row_id
        return [by_key[(r["ticket_id"], r["kind"], r["recipient"] or r["chat_id"])] for r in rows]

    async def _flag_left_assignees(self, session: AsyncSession) -> None:
        """Tickets whose assignee left the org and nobody above was told yet: look at them now."""
        left = select(Person.id).where(Person.active.is_(False)).scalar_subquery()
        await session.execute(
            update(Ticket)
            .where(
                Ticket.assignee_id.in_(left),
                Ticket.escalation_level == 0,
                Ticket.state.in_([*ACCEPT_STATES, TicketState.ACCEPTED, TicketState.ESCALATED]),
                Ticket.sla_due_at > self.now,
            )
            .values(sla_due_at=self.now)
            .execution_options(synchronize_session=False)
        )

    async def _state_entered(self, session: AsyncSession, ids: Sequence[int]) -> dict[int, datetime]:
        if not ids:
            return {}
        rows = await session.execute(
            select(TicketEvent.ticket_id, func.max(TicketEvent.at))
            .join(Ticket, (Ticket.id == TicketEvent.ticket_id) & (Ticket.state == TicketEvent.to_state))
            .where(TicketEvent.ticket_id.in_(ids))
            .group_by(TicketEvent.ticket_id)
        )
        return {ticket_id: at for ticket_id, at in rows.all() if at is not None}

    async def _held_reminders(self, session: AsyncSession, ids: Sequence[int]) -> dict[int, list[TicketReminder]]:
        held: dict[int, list[TicketReminder]] = defaultdict(list)
        for start in range(0, len(ids), 500):
            rows = await session.scalars(
                select(TicketReminder).where(
                    TicketReminder.ticket_id.in_(ids[start : start + 500]), TicketReminder.status == Status.HELD
                )
            )
            for reminder in rows.all():
                held[reminder.ticket_id].append(reminder)
        return held

    def _advance(
        self, ticket: DueTicket, grid: Grid, entered: dict[int, datetime], held: dict[int, list[TicketReminder]]
    ) -> None:
        now = self.now
        stage = stage_for(ticket.state, ticket.sla_stage)
        if ticket.sla_state != ticket.state:
            # The ticket moved (accepted, reopened, resolved, ...): withdraw what was held, start afresh.
            self._queue_withdraw(ticket, held)
            ticket.sla_state = ticket.state
            ticket.sla_cycle += 1
            ticket.sla_step = 0
            ticket.sla_stage = stage.value if stage else None
            start = ticket.accepted_at if stage is Stage.RESOLVE and ticket.accepted_at else None
            ticket.sla_started_at = start or entered.get(ticket.id) or ticket.opened_at
        if stage is None:
            ticket.sla_due_at = None
            ticket.sla_deadline_at = None
            return
        policy = self.schedule.policy(ticket.kind, ticket.urgent, ticket.domain)
        assert ticket.sla_started_at is not None
        planned = plan(ticket.sla_started_at, policy, stage, self.schedule, self.cal)
        if planned is None:
            ticket.sla_due_at = ticket.sla_deadline_at = None
            return
        deadline, steps = planned
        ticket.sla_deadline_at = deadline
        assignee = grid.people.get(ticket.assignee_id or "")
        left = ticket.escalation_level == 0 and (assignee is None or not assignee.active)
        due = [s for s in steps[ticket.sla_step :] if s.at <= now]
        escalation = next((s for s in due if s.action == "escalate"), None)
        if escalation is not None and not left and grid.escalation_target(ticket) is None:
            # The top of the grid: nobody to escalate to, so the reminders are not overtaken.
            self._record(ticket, escalation.index, "escalate", escalation.at, Status.TOP, [], range(0))
            due = [s for s in due if s.action == "remind"]
            escalation = None
            ticket.sla_step = len(steps)
        if left or escalation is not None:
            for step in due:
                if step.action == "remind":
                    self._record(ticket, step.index, "remind", step.at, Status.SKIPPED, [], range(0))
            self._escalate(ticket, grid, stage, escalation, deadline, assignee, held)
            return
        if due:
            for step in due[:-1]:
                self._record(ticket, step.index, "remind", step.at, Status.SKIPPED, [], range(0))
            self._remind(ticket, grid, stage, due[-1], deadline, assignee)
            ticket.sla_step = max(ticket.sla_step, due[-1].index + 1)
        ticket.sla_due_at = steps[ticket.sla_step].at if ticket.sla_step < len(steps) else None

    def _queue_withdraw(self, ticket: DueTicket, held: dict[int, list[TicketReminder]]) -> None:
        if ticket.id in held:
            self.batch.withdrawals.extend(held.pop(ticket.id))

    def _record(
        self,
        ticket: DueTicket,
        step: int,
        action: str,
        due_at: datetime,
        status: Status,
        recipients: list[str],
        outbox: range,
    ) -> None:
        reminder = {
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
        self.batch.reminders.append((reminder, outbox))

    def _group_name(self, grid: Grid, ticket: DueTicket) -> str:
        return grid.group_names.get((ticket.platform, ticket.chat_id)) or ticket.chat_id

    def _remind(
        self, ticket: DueTicket, grid: Grid, stage: Stage, step: Step, deadline: datetime, assignee: Person | None
    ) -> None:
        if assignee is None or not assignee.active:
            self._record(ticket, step.index, "remind", step.at, Status.SKIPPED, [], range(0))
            return
        local_deadline = deadline.astimezone(self.tz)
        text = texts.remind(
            ticket.id, stage, ticket.summary, self._group_name(grid, ticket), local_deadline, overdue=step.overdue
        )
        out: list[OutgoingMessage] = []
        target = address(assignee, ticket.platform)
        if target is not None:
            out.append(DirectMessage(platform=target[0], to=target[1], text=text))
        escalation = self.schedule.escalation
        own_id = next((i.user_id for i in assignee.identities if i.platform == ticket.platform), None)
        if escalation.mention_in_group and own_id and ticket.platform in escalation.mention_platforms:
            nudge = texts.group_nudge(assignee.name, ticket.id, stage, local_deadline, overdue=step.overdue)
            out.append(Say(platform=ticket.platform, chat_id=ticket.chat_id, text=nudge, mentions=(own_id,)))
        release = self.release(ticket)
        rows = self._outbox(ticket, out, release)
        status = Status.HELD if release > self.now and rows else Status.SENT
        self._record(ticket, step.index, "remind", step.at, status, [assignee.id], rows)
        self._event(ticket, "remind", ticket.state, texts.history_note("remind", stage, [assignee.name]))
        self.actions.append(SweepAction(ticket.id, "remind", assignee.id, ticket.escalation_level, text))

    def _escalate(
        self,
        ticket: DueTicket,
        grid: Grid,
        stage: Stage,
        step: Step | None,
        deadline: datetime,
        assignee: Person | None,
        held: dict[int, list[TicketReminder]],
    ) -> None:
        step_index = step.index if step is not None else LEFT_STEP
        due_at = step.at if step is not None else self.now
        self._queue_withdraw(ticket, held)
        target = grid.escalation_target(ticket)
        if target is None:
            self._record(ticket, step_index, "escalate", due_at, Status.TOP, [], range(0))
            ticket.sla_step = step_index + 1 if step is not None else ticket.sla_step
            ticket.sla_due_at = None
            log.info("ticket #%d is overdue at the top of the grid; nobody left to escalate to", ticket.id)
            return
        level, people = target
        left = step is None
        text = texts.escalated(
            ticket.id,
            ticket.summary,
            self._group_name(grid, ticket),
            assignee.name if assignee else "（未指派）",
            stage,
            None if left else deadline.astimezone(self.tz),
            assignee_left=left,
        )
        out: list[OutgoingMessage] = []
        for person in people:
            reach = address(person, ticket.platform)
            if reach is not None:
                out.append(DirectMessage(platform=reach[0], to=reach[1], text=text))
        release = self.release(ticket)
        rows = self._outbox(ticket, out, release)
        status = Status.HELD if release > self.now and rows else Status.SENT
        self._record(ticket, step_index, "escalate", due_at, status, [p.id for p in people], rows)
        reason = "责任人已不在岗" if left else "逾期"
        note = texts.history_note("escalate", stage, [p.name for p in people], reason)
        self._event(ticket, "escalate", ticket.state, note, to_state=TicketState.ESCALATED)
        ticket.escalation_level = level
        ticket.state = TicketState.ESCALATED
        for person in people:
            self.actions.append(SweepAction(ticket.id, "escalate", person.id, level, text))
        # A new window for the new level, from when its people are told.
        ticket.sla_state = TicketState.ESCALATED
        ticket.sla_stage = stage.value
        ticket.sla_cycle += 1
        ticket.sla_step = 0
        ticket.sla_started_at = release
        policy = self.schedule.policy(ticket.kind, ticket.urgent, ticket.domain)
        planned = plan(release, policy, stage, self.schedule, self.cal)
        if planned is None:
            ticket.sla_due_at = ticket.sla_deadline_at = None
        else:
            ticket.sla_deadline_at, steps = planned
            ticket.sla_due_at = steps[0].at

    def _event(self, ticket: DueTicket, action: str, from_state: str, note: str, to_state: str | None = None) -> None:
        self.batch.events.append(
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

    def _outbox(self, ticket: DueTicket, out: Sequence[OutgoingMessage], release: datetime) -> range:
        first = len(self.batch.outbox)
        for message in out:
            self.batch.outbox.append(outbox_values(message, ticket_id=ticket.id, now=self.now, release=release))
        return range(first, len(self.batch.outbox))


async def withdraw(session: AsyncSession, reminders: Sequence[TicketReminder]) -> None:
    """Take held reminders back out of the outbox where they have not been sent yet."""
    ids = [i for r in reminders for i in r.outbox_ids]
    if not ids:
        return
    pending = set(
        (
            await session.scalars(
                select(OutboxItem.id).where(OutboxItem.id.in_(ids), OutboxItem.status == OutboxStatus.PENDING)
            )
        ).all()
    )
    if pending:
        await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(pending), OutboxItem.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SKIPPED, error="overtaken before the quiet hours ended")
            .execution_options(synchronize_session=False)
        )
    for reminder in reminders:
        gone = bool(reminder.outbox_ids) and all(i in pending for i in reminder.outbox_ids)
        reminder.status = Status.DROPPED if gone else Status.SENT


async def sweep_deadlines(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime | None = None
) -> list[SweepAction]:
    """Perform every reminder and escalation due at ``now`` (default: the clock), once; returns them."""
    sweep = Sweep(settings, now or datetime.now(UTC))
    log.debug("sweeping deadlines at %s", sweep.now.isoformat())
    for _ in range(MAX_BATCHES):
        async with sessions.begin() as session:
            count = await sweep.run_batch(session)
        if count < BATCH:
            break
    else:
        log.error("deadline sweep stopped after %d batches with tickets still due", MAX_BATCHES)
    if sweep.actions:
        log.info("deadline sweep at %s: %d action(s)", sweep.now.isoformat(), len(sweep.actions))
    return sweep.actions
