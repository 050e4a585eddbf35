"""Routers: one per feature, each a list of (filters, handler) tried in order; commands get one route per verb."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.message import IncomingMessage, OutgoingMessage
from nlp.command import Verb

if TYPE_CHECKING:
    from bot.context import Context

Reply = list[OutgoingMessage] | None
"""What a handler returns: messages to send (possibly none), or None for "not mine, try the next"."""

Handler = Callable[[IncomingMessage, "Context"], Awaitable[Reply]]
Filter = Callable[[IncomingMessage, "Context"], bool]


Route = tuple[Verb | None, tuple[Filter, ...], Handler]
"""A route: the command verb it answers (None: any message), further filters, the handler."""


@dataclass
class Router:
    name: str
    routes: list[Route] = field(default_factory=list)
    verbs: list[Verb] = field(default_factory=list)
    """The command verbs this router answers, one route each."""

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        return self._route(None, filters)

    def command(self, verb: Verb, *filters: Filter) -> Callable[[Handler], Handler]:
        """The route of one command verb (plus any further filters)."""
        self.verbs.append(verb)
        return self._route(verb, filters)

    def _route(self, verb: Verb | None, filters: tuple[Filter, ...]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((verb, filters, handler))
            return handler

        return register

    async def dispatch(self, msg: IncomingMessage, ctx: Context) -> Reply:
        verb = ctx.command.verb if ctx.command is not None else None
        for wanted, filters, handler in self.routes:
            if wanted is not None and wanted is not verb:
                continue  # a command route, and this message is not that command (the commonest case)
            if all(check(msg, ctx) for check in filters):
                reply = await handler(msg, ctx)
                if reply is not None:
                    return reply
        return None


async def dispatch(routers: Sequence[Router], msg: IncomingMessage, ctx: Context) -> Reply:
    for router in routers:
        reply = await router.dispatch(msg, ctx)
        if reply is not None:
            return reply
    return None
