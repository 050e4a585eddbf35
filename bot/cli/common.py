"""Helpers shared by the CLI modules: logging to stderr, settings errors as exit code 2."""

from __future__ import annotations

import logging
import sys

import click

from config.settings import Settings, SettingsError, load_settings

EXIT_BAD_INPUT = 2


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("jieba", "aiosqlite", "alembic.runtime.migration", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"linli: {message}", err=True)
    raise SystemExit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
