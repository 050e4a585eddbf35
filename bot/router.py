"""Routers: one per feature, each a list of (filter, handler) tried in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.message import IncomingMessage, OutgoingMessage

if TYPE_CHECKING:
    from bot.context import Context

Reply = list[OutgoingMessage] | None
"""What a handler returns: messages to send (possibly none), or None for "not mine, try the next"."""

Handler = Callable[[IncomingMessage, "Context"], Awaitable[Reply]]
Filter = Callable[[IncomingMessage, "Context"], bool]


@dataclass
class Router:
    name: str
    routes: list[tuple[tuple[Filter, ...], Handler]] = field(default_factory=list)

    def message(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((filters, handler))
            return handler

        return register

    async def dispatch(self, msg: IncomingMessage, ctx: Context) -> Reply:
        for filters, handler in self.routes:
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
