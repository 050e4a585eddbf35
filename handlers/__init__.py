"""What linli does with a message: routers in priority order (the first that answers wins)."""

from __future__ import annotations

from bot.router import Router
from handlers import admin_commands, corrections, leader_commands, media, points, reports, resident_commands

ROUTERS: tuple[Router, ...] = (
    media.router,
    leader_commands.router,
    corrections.router,
    resident_commands.router,
    points.router,
    admin_commands.router,
    reports.router,
)
