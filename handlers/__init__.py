"""What linli does with a message: routers in priority order (first reply wins)."""

from __future__ import annotations

from bot.router import Router
from handlers import reports

ROUTERS: tuple[Router, ...] = (reports.router,)
