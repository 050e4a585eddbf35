"""The tables: the organisation, messages, tickets with their history, and the outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnClause

from storage.base import Base, UTCDateTime


class Role(StrEnum):
    RESIDENT = "resident"
    BUILDING_LEADER = "building_leader"
    BRANCH_SECRETARY = "branch_secretary"
    COMMITTEE = "committee"


class TicketState(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ESCALATED = "escalated"
    MERGED = "merged"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    REOPENED = "reopened"


UNFINISHED_STATES = (
    TicketState.OPEN,
    TicketState.ASSIGNED,
    TicketState.ACCEPTED,
    TicketState.ESCALATED,
    TicketState.REOPENED,
)
"""The states in which a ticket still needs someone to act: the one set every query and rule uses."""


class CheckState(StrEnum):
    """Where a ``check`` (possible danger to a person: someone must look now) stands."""

    PENDING = "pending"
    """The accountable leader has been asked to look now and has not answered yet."""
    CONFIRMED = "confirmed"
    """确认紧急: the ticket became urgent."""
    DISMISSED = "dismissed"
    """不紧急: an ordinary ticket of its kind."""
    UNANSWERED = "unanswered"
    """No answer in time: treated as urgent."""
    MOOT = "moot"
    """The ticket was finished (resolved, withdrawn, closed as noise) before anyone answered."""


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"
    """Withdrawn before sending: a held reminder overtaken by an escalation or by the ticket's progress."""


class Unit(Base):
    """A place on the grid: community, estate, building, or any level the org data defines."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(64), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    household: Mapped[str | None] = mapped_column(String(64))
    """The household (户) the person belongs to, if the org says: one family's accounts count once."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )


class Identity(Base):
    """A person's id on one platform."""

    __tablename__ = "identities"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)

    person: Mapped[Person] = relationship(back_populates="identities")


class ChatGroup(Base):
    """A group chat; ``unit_id`` is None for a group the bot has seen but the org does not know."""

    __tablename__ = "chat_groups"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    bound_by_org: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account: Mapped[str | None] = mapped_column(String(64))
    """The ``instance`` (the process, with its platform account) that last heard from the group: what is
    said in the group goes out through it."""


class OrgRevision(Base):
    """One row counting org imports: a process keeps the org it has read until the count changes."""

    __tablename__ = "org_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class CoUnit(Base):
    """A co-building unit (共建单位): an outside organisation offering resources to the community."""

    __tablename__ = "co_units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Message(Base):
    """Every inbound message, stored before anything else happens to it."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("platform", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    chat_name: Mapped[str] = mapped_column(String(200), default="")
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    content_type: Mapped[str] = mapped_column(String(16), default="text")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str | None] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    domain: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)


Index("ix_messages_chat", Message.platform, Message.chat_id)
Index("ix_messages_sender", Message.platform, Message.sender_id, Message.chat_id)
"""Where a person has written: a ballot by direct message (handlers/votes.py) and the council's home units ask
whether they wrote in a building's groups, and a person's data export and erasure find their messages; without
it each of these reads every message of the platform."""
_EMPTY: ColumnClause[str] = literal_column("''")
RETAINED_IN_FULL = or_(Message.ticket_id.is_(None), Message.text != _EMPTY, Message.sender_name != _EMPTY)
"""A message retention has yet to deal with: one behind a ticket is kept emptied, and never read again.
The empty strings are written into the statement, not bound: a plan proves it may use the partial index
from the query's own text (SQLite always, PostgreSQL once it plans a prepared statement generically)."""
Index("ix_messages_retention", Message.sent_at, postgresql_where=RETAINED_IN_FULL, sqlite_where=RETAINED_IN_FULL)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    domain: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), index=True)
    summary: Mapped[str] = mapped_column(Text)
    assignee_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    council_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    co_unit_id: Mapped[str | None] = mapped_column(ForeignKey("co_units.id"))
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # Deadline state (see handlers/deadlines.py): the sweep looks at a ticket again once sla_due_at passes.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sla_state: Mapped[str | None] = mapped_column(String(16))
    sla_stage: Mapped[str | None] = mapped_column(String(8))
    sla_cycle: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The check tier (see handlers/checks.py): unanswered once check_due_at passes.
    check_state: Mapped[str | None] = mapped_column(String(16))
    check_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    reporters: Mapped[list[TicketReporter]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", lazy="selectin", order_by="TicketReporter.reported_at"
    )


# The hot reads of tickets, each served by one index (tests/scale/test_explain.py reads the plans):
# merge candidates (a unit's tickets of one service area opened within the merge window); 待办 (escalated
# tickets of the units below a leader's); 我的任务 and the open load routing balances; the weekly digest
# (one community's tickets opened or resolved in a week); auto-closing (resolved tickets nobody objected to).
Index("ix_tickets_merge", Ticket.unit_id, Ticket.domain, Ticket.opened_at)
Index("ix_tickets_unit_state", Ticket.unit_id, Ticket.state)
Index("ix_tickets_assignee_state", Ticket.assignee_id, Ticket.state)
Index("ix_tickets_community_opened", Ticket.community_id, Ticket.opened_at)
Index("ix_tickets_community_resolved", Ticket.community_id, Ticket.resolved_at)
Index("ix_tickets_state_resolved", Ticket.state, Ticket.resolved_at)


class TicketReporter(Base):
    __tablename__ = "ticket_reporters"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sender_name: Mapped[str] = mapped_column(String(100), default="")
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="reporters")


# 进度 and photos: the tickets one person reported.
Index("ix_ticket_reporters_sender", TicketReporter.platform, TicketReporter.sender_id, TicketReporter.reported_at)


class TicketEvent(Base):
    """Append-only history of a ticket: who did what, when, from which state to which."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class TicketCorrection(Base):
    """A correction from the grid (改为大事, 不是问题, 改领域 …): who overrode which labels, and on what text.

    ``before`` and ``after`` are the ticket's labels ``{"kind", "urgent", "domain"}`` around the change;
    ``decision`` is the classifier's decision the ticket was opened with; ``text`` the original report.
    """

    __tablename__ = "ticket_corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    change: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)


Index("ix_ticket_corrections_community_at", TicketCorrection.community_id, TicketCorrection.at)


class TicketReminder(Base):
    """One reminder or escalation, recorded once: the unique key makes a second sender fail, not repeat."""

    __tablename__ = "ticket_reminders"
    __table_args__ = (UniqueConstraint("ticket_id", "cycle", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(8))
    level: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)


# the sweep reads the held reminders of the tickets it plans: both conditions in the index
Index("ix_ticket_reminders_ticket_status", TicketReminder.ticket_id, TicketReminder.status)


class JobRun(Base):
    """A scheduled job's run for one period (a digest for one week), or a lock row; inserted once."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    holder: Mapped[str] = mapped_column(String(64), default="")


class OutboxItem(Base):
    """An action the bot will take, written in the same transaction as what caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(16), default="reply", server_default="reply")
    chat_id: Mapped[str | None] = mapped_column(String(128))
    recipient: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_path: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(128))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default=OutboxStatus.PENDING)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Higher goes first among the items due: urgent and ``check`` matters before everything else."""
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    account: Mapped[str | None] = mapped_column(String(64))
    """The ``instance`` that must send the item (its account is in the group, or was written to); None: any."""
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The ``instance`` whose worker took the item for sending (several processes share one outbox)."""
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The outbox workers' claim: pending items of some platforms, due first.
Index("ix_outbox_due", OutboxItem.status, OutboxItem.platform, OutboxItem.not_before, OutboxItem.id)


class Rating(Base):
    """A reporter's satisfaction with a resolved ticket (1-5)."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str] = mapped_column(String(128))
    score: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointEntry(Base):
    """One line of the leaders' points ledger (楼长积分); one entry per person, ticket and reason."""

    __tablename__ = "points"
    __table_args__ = (UniqueConstraint("person_id", "ticket_id", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Something done to people's data that must be answerable later: a privacy export or erasure, a purge."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- the staff desk (dashboard, JSON API, Open311): logins, sessions, API tokens ------------------


class DeskUser(Base):
    """A login to the desk and the API. What it may see and do follows its person's place on the grid."""

    __tablename__ = "desk_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeskSession(Base):
    """A signed-in browser; only a hash of the cookie's secret is stored."""

    __tablename__ = "desk_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("desk_users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A bearer token for /api/v1 and an api_key for Open311; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("desk_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


# The desk's ticket list: newest first within a community, a state, or a unit.
Index("ix_tickets_community_id_id", Ticket.community_id, Ticket.id)
Index("ix_tickets_community_id_state_id", Ticket.community_id, Ticket.state, Ticket.id)
Index("ix_tickets_unit_id_id", Ticket.unit_id, Ticket.id)
# /metrics: the outbox backlog and failures by platform.
Index("ix_outbox_status_platform", OutboxItem.status, OutboxItem.platform)
