"""The ``linli`` command: one click group, subcommands in small modules beside this one."""

from __future__ import annotations

import click

from bot.cli.common import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """邻里 linli: reads building group chats, opens and tracks tickets on the community grid."""
    configure_logging(verbose)


def _register() -> None:
    from bot.cli.classify import classify, nlp
    from bot.cli.corrections import corrections
    from bot.cli.council import council
    from bot.cli.db import db
    from bot.cli.deadlines import deadlines
    from bot.cli.digest import digest
    from bot.cli.lists import lists, points
    from bot.cli.org import org
    from bot.cli.privacy import privacy
    from bot.cli.replay import demo, replay_command
    from bot.cli.run import run
    from bot.cli.suggestions import suggestions
    from bot.cli.tickets import tickets
    from bot.cli.users import users
    from bot.cli.wecom import wecom

    for command in (
        db,
        org,
        replay_command,
        demo,
        tickets,
        run,
        lists,
        points,
        classify,
        nlp,
        wecom,
        deadlines,
        digest,
        council,
        privacy,
        users,
        suggestions,
    ):
        main.add_command(command)
    nlp.add_command(corrections)


_register()
