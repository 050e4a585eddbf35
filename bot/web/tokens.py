"""API tokens: the bearer token of /api/v1 and the api_key of Open311 are the same secret."""

from __future__ import annotations

from datetime import timedelta

from bot.web.credentials import digest
from bot.web.deps import WebDeps
from bot.web.scope import Scope, scope_of
from storage.desk_repo import DeskRepo

TOUCH_EVERY = timedelta(minutes=1)


async def scope_for_token(d: WebDeps, secret: str) -> Scope | None:
    """The scope of a live API token; also what Open311 uses for its api_key."""
    if not secret:
        return None
    async with d.sessions.begin() as session:
        found = await DeskRepo(session).find_token(digest(secret))
        if found is None:
            return None
        token, login = found
        now = d.clock()
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            token.last_used_at = now
        return await scope_of(session, login)
