"""``linli wecom …``: tools for the admin who sets up WeCom callbacks.

``linli wecom decrypt`` is a stable contract used by outside checks: on success it writes the
plaintext verbatim to stdout and exits 0; on failure it writes ``<code> <name>`` (e.g.
``-40001 ValidateSignature_Error``) as the only line on stdout, a hint on stderr, and exits 1.

The Token and EncodingAESKey come from ``LINLI_WECOM_TOKEN`` / ``LINLI_WECOM_AES_KEY`` or from files
(``--token-file``, ``--aes-key-file``); ``--token`` and ``--aes-key`` still work but warn on stderr, since
anything on a command line is visible to every user of the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.adapters.wecom.crypto import WeComCrypto, WeComCryptoError, encrypt_from_body

EXIT_CRYPTO_ERROR = 1


@click.group()
def wecom() -> None:
    """Enterprise WeChat (企业微信) tools."""


def _secret(name: str, given: str | None, path: Path | None, env: str) -> str:
    """A secret from its file, its environment variable, or (warned against) the command line."""
    if path is not None:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise click.FileError(str(path), hint=str(exc)) from exc
    if given is not None:
        if sys.argv and any(arg.startswith(f"--{name}") for arg in sys.argv):
            click.echo(
                f"linli: warning: --{name} on the command line is visible to every user in the process list; "
                f"use {env} or --{name}-file",
                err=True,
            )
        return given
    raise click.UsageError(f"the {name} is needed: set {env} or give --{name}-file")


@wecom.command()
@click.option("--token", envvar="LINLI_WECOM_TOKEN", help="The callback Token (prefer LINLI_WECOM_TOKEN or a file).")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="A file holding the Token.")
@click.option(
    "--aes-key", envvar="LINLI_WECOM_AES_KEY", help="The 43-character EncodingAESKey (prefer LINLI_WECOM_AES_KEY)."
)
@click.option("--aes-key-file", type=click.Path(dir_okay=False, path_type=Path), help="A file holding the key.")
@click.option(
    "--receive-id",
    default="",
    show_default=True,
    help='CorpID for a self-built app, "" for an internal 智能机器人.',
)
@click.option("--signature", required=True, help="The msg_signature query parameter.")
@click.option("--timestamp", required=True, help="The timestamp query parameter.")
@click.option("--nonce", required=True, help="The nonce query parameter.")
@click.option("--echostr", default=None, help="The URL-decoded echostr of a verification GET.")
@click.option(
    "--body",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help='A captured POST body: XML with <Encrypt> or JSON {"encrypt": …}; "-" reads stdin.',
)
def decrypt(
    token: str | None,
    token_file: Path | None,
    aes_key: str | None,
    aes_key_file: Path | None,
    receive_id: str,
    signature: str,
    timestamp: str,
    nonce: str,
    echostr: str | None,
    body: Path | None,
) -> None:
    """Verify and decrypt one callback; print the plaintext verbatim."""
    if (echostr is None) == (body is None):
        raise click.UsageError("give exactly one of --echostr and --body")
    token = _secret("token", token, token_file, "LINLI_WECOM_TOKEN")
    aes_key = _secret("aes-key", aes_key, aes_key_file, "LINLI_WECOM_AES_KEY")
    try:
        crypto = WeComCrypto(token, aes_key, receive_id)
        if body is not None:
            raw = sys.stdin.buffer.read() if str(body) == "-" else _read_body(body)
            encrypt, _is_json = encrypt_from_body(raw)
        else:
            assert echostr is not None
            encrypt = echostr
        plaintext = crypto.decrypt_verified(signature, timestamp, nonce, encrypt)
    except WeComCryptoError as exc:
        click.echo(exc.label)
        click.echo(f"linli: {exc}", err=True)
        raise SystemExit(EXIT_CRYPTO_ERROR) from None
    click.echo(plaintext, nl=False)  # bytes go to the binary stream untouched


def _read_body(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.FileError(str(path), hint=str(exc)) from exc
