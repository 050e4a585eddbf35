"""``linli run``: the service, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

import click

from bot.adapters.base import AdapterStartError
from bot.app import run_forever
from bot.cli.common import fail, settings_or_exit


@click.command()
def run() -> None:
    """Start the configured adapters, the scheduler and the HTTP server."""
    settings = settings_or_exit()

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_forever(settings, stop)

    try:
        asyncio.run(go())
    except AdapterStartError as exc:
        fail(f"{type(exc).__name__}: {exc}", code=1)
