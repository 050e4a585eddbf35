"""``linli wecom …``: tools for the admin who sets up WeCom callbacks.

``linli wecom decrypt`` is a stable contract used by outside checks: on success it writes the
plaintext verbatim to stdout and exits 0; on failure it writes ``<code> <name>`` (e.g.
``-40001 ValidateSignature_Error``) as the only line on stdout, a hint on stderr, and exits 1.
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


@wecom.command()
@click.option("--token", required=True, help="The callback Token set in the admin console.")
@click.option("--aes-key", required=True, help="The 43-character EncodingAESKey.")
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
    token: str,
    aes_key: str,
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
