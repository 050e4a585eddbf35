"""What linli does with a message: routers in priority order (the first that answers wins)."""

from __future__ import annotations

from bot.router import Router
from handlers import (
    admin_commands,
    corrections,
    council_commands,
    leader_commands,
    media,
    needs,
    points,
    reports,
    resident_commands,
    suggestions,
)

ROUTERS: tuple[Router, ...] = (
    media.router,
    leader_commands.router,
    corrections.router,
    resident_commands.router,
    points.router,
    council_commands.router,
    suggestions.router,
    admin_commands.router,
    needs.router,
    reports.router,
)
