"""The ticket state machine: which action may move a ticket from which state, and who may act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.models import Person, Role, Ticket, TicketState
from storage.org_repo import OrgRepo
from storage.ticket_repo import TicketRepo

S = TicketState
UNFINISHED = frozenset({S.OPEN, S.ASSIGNED, S.ACCEPTED, S.ESCALATED, S.REOPENED})


class Action(StrEnum):
    ACCEPT = "accept"
    RESOLVE = "resolve"
    CLOSE = "close"
    ESCALATE = "escalate"
    TRANSFER = "transfer"
    DISPATCH = "dispatch"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    MERGE = "merge"
    REOPEN = "reopen"


TRANSITIONS: dict[Action, tuple[frozenset[TicketState], TicketState]] = {
    Action.ACCEPT: (frozenset({S.OPEN, S.ASSIGNED, S.ESCALATED, S.REOPENED}), S.ACCEPTED),
    Action.RESOLVE: (frozenset({S.ASSIGNED, S.ACCEPTED, S.ESCALATED, S.REOPENED}), S.RESOLVED),
    Action.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.ESCALATE: (UNFINISHED, S.ESCALATED),
    Action.TRANSFER: (UNFINISHED, S.ASSIGNED),
    Action.DISPATCH: (UNFINISHED, S.ASSIGNED),
    Action.REJECT: (frozenset({S.OPEN, S.ASSIGNED, S.ESCALATED, S.REOPENED}), S.REJECTED),
    Action.WITHDRAW: (UNFINISHED, S.WITHDRAWN),
    Action.MERGE: (UNFINISHED, S.MERGED),
    Action.REOPEN: (frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED),
}

STATE_TITLES = {
    S.OPEN: "待派单",
    S.ASSIGNED: "已派单，待接单",
    S.ACCEPTED: "已接单，处理中",
    S.RESOLVED: "已办结，待评价",
    S.CLOSED: "已关闭",
    S.ESCALATED: "已升级",
    S.MERGED: "已合并",
    S.REJECTED: "不受理",
    S.WITHDRAWN: "已撤销",
    S.REOPENED: "已重新打开",
}


class IllegalTransition(Exception):
    def __init__(self, ticket: Ticket, action: Action) -> None:
        self.ticket = ticket
        self.action = action
        super().__init__(f"#{ticket.id} is {ticket.state}; cannot {action}")


def can(ticket: Ticket, action: Action) -> bool:
    return TicketState(ticket.state) in TRANSITIONS[action][0]


async def apply(
    tickets: TicketRepo, ticket: Ticket, action: Action, *, actor: str, at: datetime, note: str = ""
) -> None:
    """Move the ticket or raise IllegalTransition, changing nothing."""
    allowed, target = TRANSITIONS[action]
    if TicketState(ticket.state) not in allowed:
        raise IllegalTransition(ticket, action)
    if action is Action.ACCEPT and ticket.accepted_at is None:
        ticket.accepted_at = at
    if action is Action.RESOLVE:
        ticket.resolved_at = at
        ticket.accepted_at = ticket.accepted_at or at
        ticket.resolution_note = note
    if action is Action.CLOSE:
        ticket.closed_at = at
    if action is Action.REOPEN:
        ticket.resolved_at = None
        ticket.closed_at = None
    await tickets.transition(ticket, target, actor=actor, action=action.value, at=at, note=note)


@dataclass(frozen=True)
class Standing:
    """Where a person stands relative to one ticket."""

    is_assignee: bool
    is_higher: bool
    same_community: bool

    @property
    def may_manage(self) -> bool:
        return self.is_assignee or self.is_higher


async def standing(org: OrgRepo, person: Person | None, ticket: Ticket) -> Standing:
    if person is None or not person.active:
        return Standing(False, False, False)
    chain = [u.id for u in await org.chain(ticket.unit_id)]
    own_unit = await org.unit(person.unit_id)
    same_community = own_unit is not None and own_unit.community_id == ticket.community_id
    is_assignee = person.id == ticket.assignee_id
    # Strictly above the ticket's own unit, or serving the unit itself when nobody is assigned there.
    is_higher = person.role != Role.RESIDENT and person.unit_id in chain[1:]
    return Standing(is_assignee, is_higher, same_community)


def is_reporter(ticket: Ticket, platform: str, sender_id: str) -> bool:
    return any(r.platform == platform and r.sender_id == sender_id for r in ticket.reporters)
