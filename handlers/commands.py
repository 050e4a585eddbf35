"""How a command about one ticket is routed: the number, the ticket, who may, and the polite refusals.

``ticket_command(router, Verb.ACCEPT, MANAGER)`` registers the verb's one route; the handler it wraps
gets the ticket only when it exists in the sender's community and the sender has the right, and an
illegal move is answered with the ticket's state instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.context import Context
from bot.message import IncomingMessage, OutgoingMessage
from bot.router import Handler, Reply, Router
from bot.texts import chat as texts
from bot.texts import council as council_texts
from bot.texts.names import state_title
from handlers.common import answer, find_ticket, in_ticket_group
from handlers.lifecycle import AwaitingCouncil, IllegalTransition, Outcome, is_reporter, standing
from nlp.command import Verb
from storage.models import Ticket

log = logging.getLogger(__name__)

TicketHandler = Callable[[IncomingMessage, Context, Ticket], Awaitable[Reply]]


@dataclass(frozen=True)
class Permission:
    allows: Callable[[IncomingMessage, Context, Ticket], Awaitable[bool]]
    refusal: Callable[[int, str], str]
    """The answer when it does not: (ticket id, verb) -> text."""


async def _manages(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> bool:
    return (await standing(ctx.org, ctx.sender, ticket)).may_manage


async def _reported(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> bool:
    return is_reporter(ticket, msg.platform, msg.sender_id)


async def _reported_or_manages(msg: IncomingMessage, ctx: Context, ticket: Ticket) -> bool:
    return await _reported(msg, ctx, ticket) or await _manages(msg, ctx, ticket)


MANAGER = Permission(_manages, texts.not_allowed)
"""The assignee, or someone serving a unit above the ticket's."""
REPORTER = Permission(_reported, lambda ticket_id, verb: texts.not_found(ticket_id))
"""Someone who reported the ticket; anyone else is not told the ticket exists (the same answer as for a
number that does not exist, so numbers cannot be probed)."""
REPORTER_OR_MANAGER = Permission(_reported_or_manages, lambda ticket_id, verb: texts.not_found(ticket_id))
"""Either; anyone else is not told the ticket exists."""


def refuse(msg: IncomingMessage, ctx: Context, text: str) -> Reply:
    log.info("refused %s from %s:%s: %s", ctx.command, msg.platform, msg.sender_id, text)
    return [answer(msg, text)]


def told(msg: IncomingMessage, ticket: Ticket, outcome: Outcome) -> Reply:
    """An outcome announced in the ticket's group, and to the sender as well when they wrote from elsewhere
    (only to the sender when it is not for the group)."""
    out: list[OutgoingMessage] = outcome.messages(ticket)
    if not outcome.announce:
        return [answer(msg, outcome.text), *out]
    if not in_ticket_group(msg, ticket):
        out.insert(1, answer(msg, outcome.text))
    return out


def ticket_command(
    router: Router, verb: Verb, permission: Permission, *, without_number: Handler | None = None
) -> Callable[[TicketHandler], Handler]:
    """Register the route of ``verb``, a command about one ticket that ``permission`` allows.

    ``without_number`` answers the command when it names no ticket (进度 alone); otherwise the sender is asked
    for the number.
    """

    def register(handler: TicketHandler) -> Handler:
        @router.command(verb)
        async def route(msg: IncomingMessage, ctx: Context) -> Reply:
            assert ctx.command is not None
            number = ctx.command.ticket
            if number is None:
                if without_number is not None:
                    return await without_number(msg, ctx)
                return refuse(msg, ctx, texts.need_number(verb.value))
            ticket = await find_ticket(ctx, number)
            if ticket is None:
                return refuse(msg, ctx, texts.not_found(number))
            if not await permission.allows(msg, ctx, ticket):
                return refuse(msg, ctx, permission.refusal(ticket.id, verb.value))
            try:
                return await handler(msg, ctx, ticket)
            except AwaitingCouncil as exc:
                return refuse(msg, ctx, council_texts.awaiting_council(exc.ticket_id))
            except IllegalTransition as exc:
                return refuse(msg, ctx, texts.illegal(exc.ticket_id, state_title(exc.state), verb.value))

        route.__name__ = route.__qualname__ = handler.__name__
        return route

    return register
