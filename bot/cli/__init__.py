"""The ``linli`` command: one click group, subcommands in small modules beside this one."""

from __future__ import annotations

import click

from bot.cli.common import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
def main(verbose: bool) -> None:
    """邻里 linli: reads building group chats, opens and tracks tickets on the community grid."""
    configure_logging(verbose)


from bot.cli.classify import classify, nlp  # noqa: E402  (commands register after the group exists)

main.add_command(classify)
main.add_command(nlp)
