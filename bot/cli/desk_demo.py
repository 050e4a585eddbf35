"""``linli demo --web``: the staff desk on the demo's database, with a demo login, until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime

import click
from aiohttp import web

from bot.app import Store
from bot.web.credentials import hash_password, new_secret
from bot.web.deps import WebDeps
from bot.web.site import create_site
from config.settings import Settings
from storage.desk_repo import DeskRepo

DEMO_USERS = {"chen": "p-chen", "tan": "p-tan", "li": "p-li"}


async def serve_desk(settings: Settings, store: Store) -> None:
    password = new_secret()[:16]
    async with store.sessions.begin() as session:
        repo = DeskRepo(session)
        for name, person in DEMO_USERS.items():
            user = await repo.user(name)
            if user is None:
                await repo.add_user(name, person, hash_password(password), datetime.now(UTC))
            else:
                user.password_hash = hash_password(password)
    runner = web.AppRunner(create_site(WebDeps(settings, store.sessions)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    await site.start()
    host, port = runner.addresses[0][:2]
    click.echo()
    click.echo(click.style(f"== 邻里工作台：http://{host}:{port}/desk/ ==", bold=True))
    click.echo(f"   登录：chen（社区党委）、tan（小区党支部）、li（楼长），本次密码 {password}")
    click.echo("   Ctrl-C 退出")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
