"""Helpers shared by the CLI modules: logging to stderr, settings errors as exit code 2."""

from __future__ import annotations

import logging
import sys

import click

from bot.texts.names import mask_personal
from config.settings import Settings, SettingsError, load_settings

EXIT_BAD_INPUT = 2


class MaskingFilter(logging.Filter):
    """Phone and ID-card numbers never reach a log: the formatted message is masked before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskingFilter())
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
