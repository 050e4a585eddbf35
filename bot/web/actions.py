"""Ticket actions from the desk and the API, through the same lifecycle and the same outbox as chat.

Each action runs as a one-step job on the kernel's ``JobRunner``: one transaction, the lifecycle changes
the ticket and says whom to tell, the runner writes those messages to the outbox and commits, and the
delivery workers are nudged. Who may act is decided as for the chat commands (``lifecycle.standing``: the
assignee or someone higher on the grid), after the desk's own rule of who may see the ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.context import JobContext
from bot.job_runner import JobRunner
from bot.jobs import JobOutcome
from bot.message import OutgoingMessage
from bot.texts import desk as texts
from bot.texts.names import state_title
from bot.web.deps import WebDeps
from bot.web.filters import DOMAINS, KINDS
from bot.web.scope import Scope
from handlers import lifecycle
from handlers.labels import Change
from storage.models import Person, Role, Ticket, Unit
from storage.org_repo import OrgRepo

ACTIONS = ("accept", "assign", "transfer", "escalate", "resolve", "reject", "correct")
NOTE_CHARS = 500


@dataclass(frozen=True)
class Request:
    action: str
    person: str = ""
    note: str = ""
    kind: str = ""
    domain: str = ""

    @classmethod
    def of(cls, action: str, fields: Mapping[str, object]) -> Request:
        def text(key: str) -> str:
            value = fields.get(key, "")
            return value.strip() if isinstance(value, str) else ""

        return cls(action, text("person"), text("note") or text("reason"), text("kind"), text("domain"))


@dataclass(frozen=True)
class Result:
    status: int
    """200 done; 400 the request is incomplete; 403 not the user's to do; 404 not visible; 409 not now."""
    message: str

    @property
    def ok(self) -> bool:
        return self.status == 200


def runner(deps: WebDeps) -> JobRunner:
    return deps.jobs or JobRunner(deps.sessions, deps.settings)


async def perform(deps: WebDeps, scope: Scope, ticket_id: int, request: Request) -> Result:
    if request.action not in ACTIONS:
        return Result(400, texts.UNKNOWN_ACTION)
    if len(request.note) > NOTE_CHARS:
        return Result(400, texts.NOTE_TOO_LONG)

    async def job(ctx: JobContext) -> JobOutcome:
        ticket = await ctx.tickets.get(ticket_id, for_update=True)
        if ticket is None or not scope.sees(ticket):
            return JobOutcome(report=[Result(404, texts.NOT_FOUND)])
        actor = await ctx.org.person(scope.person_id)
        if actor is None or not (await lifecycle.standing(ctx.org, actor, ticket)).may_manage:
            return JobOutcome(report=[Result(403, texts.not_allowed(ticket.id, request.action))])
        try:
            said = await _act(ctx, ticket, actor, request)
        except lifecycle.IllegalTransition as exc:
            return JobOutcome(report=[Result(409, texts.illegal(ticket.id, state_title(exc.state), request.action))])
        if isinstance(said, Result):
            return JobOutcome(report=[said])
        return JobOutcome(messages=said, report=[Result(200, texts.DONE[request.action])])

    (result,) = await runner(deps).run(job, deps.clock(), name=f"desk {request.action} #{ticket_id}")
    assert isinstance(result, Result)
    return result


async def _act(ctx: JobContext, ticket: Ticket, actor: Person, request: Request) -> list[OutgoingMessage] | Result:
    at = ctx.now
    action = request.action
    if action == "accept":
        return (await lifecycle.accept(ctx, ticket, actor, at)).messages(ticket)
    if action == "resolve":
        return (await lifecycle.resolve(ctx, ticket, actor, at, request.note)).messages(ticket)
    if action == "reject":
        if not request.note:
            return Result(400, texts.NEEDS_REASON)
        return (await lifecycle.reject(ctx, ticket, actor=actor.id, at=at, reason=request.note)).messages(ticket)
    if action in ("assign", "transfer"):
        target = await _staff_member(ctx, ticket, request.person)
        if isinstance(target, Result):
            return target
        outcome = await lifecycle.transfer(ctx, ticket, target, by=actor.name, actor=actor.id, at=at)
        return outcome.messages(ticket)
    if action == "escalate":
        escalation = await lifecycle.escalate(ctx, ticket, by=actor.name, actor=actor.id, at=at)
        if escalation is None:
            return Result(409, texts.no_higher_level(ticket.id))
        return escalation.outcome.messages(ticket)
    kind, domain = request.kind or ticket.kind, request.domain or ticket.domain
    if kind not in KINDS:
        return Result(400, texts.BAD_KIND)
    if domain not in DOMAINS:
        return Result(400, texts.BAD_DOMAIN)
    if (kind, domain) == (ticket.kind, ticket.domain):
        return Result(400, texts.NOTHING_TO_CORRECT)
    # The same corrections as 改为大事/改为小事/改领域 in chat: recorded, routed and told alike.
    said: list[OutgoingMessage] = []
    if kind != ticket.kind:
        change = Change.MAJOR if kind == "major" else Change.TRIVIAL
        said += (await lifecycle.correct(ctx, ticket, change, by=actor, at=at)).messages(ticket)
    if domain != ticket.domain:
        said += (await lifecycle.correct(ctx, ticket, Change.DOMAIN, by=actor, at=at, domain=domain)).messages(ticket)
    return said


async def _staff_member(ctx: JobContext, ticket: Ticket, person_id: str) -> Person | Result:
    if not person_id:
        return Result(400, texts.NEEDS_PERSON)
    person = await ctx.org.person(person_id)
    unit: Unit | None = await ctx.org.unit(person.unit_id) if person is not None else None
    if person is None or not person.active or person.role == Role.RESIDENT or unit is None:
        return Result(400, texts.UNKNOWN_PERSON)
    if unit.community_id != ticket.community_id:
        return Result(400, texts.UNKNOWN_PERSON)
    if person.id == ticket.assignee_id:
        return Result(400, texts.SAME_PERSON)
    return person


async def allowed(deps: WebDeps, scope: Scope, ticket_id: int) -> list[str]:
    """The actions the user may try on this ticket now (the desk shows only these)."""
    async with deps.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        person = await session.get(Person, scope.person_id)
        if ticket is None or person is None or not scope.sees(ticket):
            return []
        if not (await lifecycle.standing(OrgRepo(session), person, ticket)).may_manage:
            return []
        moves = {
            "accept": lifecycle.Action.ACCEPT,
            "assign": lifecycle.Action.TRANSFER,
            "transfer": lifecycle.Action.TRANSFER,
            "escalate": lifecycle.Action.ESCALATE,
            "resolve": lifecycle.Action.RESOLVE,
            "reject": lifecycle.Action.REJECT,
        }
        found = [name for name, move in moves.items() if lifecycle.can(ticket, move)]
        if ticket.assignee_id is None:
            found = [a for a in found if a != "transfer"]
        else:
            found = [a for a in found if a != "assign"]
        return [*found, "correct"]
