"""Fuzz targets for the parsers that take input from outside, and the long run (on demand, not in CI).

    python -m bench.fuzz --seconds 300            # every target, random and mutated inputs
    python -m bench.fuzz --target command --seconds 300   # one target: then atheris too, if installed

With one ``--target`` and atheris installed (``pip install atheris``), a coverage-guided run over the
instrumented parsers follows the plain one for the same time.

Each target accepts any bytes and may raise only its parser's own error: anything else is a bug. The
tests run each target briefly through hypothesis (tests/hardening/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from bot.adapters.wecom.callback import parse_aibot_payload, parse_app_message
from bot.adapters.wecom.crypto import WeComCrypto, WeComCryptoError, encrypt_from_body
from config.org_file import OrgFileError, load_org_file
from nlp.command import parse_command

TOKEN = "fuzztoken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CRYPTO = WeComCrypto(TOKEN, AES_KEY, "wwfuzz")
_ORG_DIR = Path(tempfile.mkdtemp(prefix="linli-fuzz-"))


def fuzz_callback_bytes(data: bytes) -> None:
    """A POST body (XML or JSON envelope), then its ciphertext through signature and decryption."""
    try:
        encrypt, _ = encrypt_from_body(data)
    except WeComCryptoError:
        encrypt = data.decode("latin-1")
    signature = CRYPTO.signature("1700000000", "n", encrypt)
    with contextlib.suppress(WeComCryptoError):
        CRYPTO.decrypt_verified(signature, "1700000000", "n", encrypt)


def fuzz_app_xml(data: bytes) -> None:
    """A decrypted self-built-app message (XML; defusedxml refuses entities)."""
    with contextlib.suppress(WeComCryptoError):
        parse_app_message(data, agent_id=1)


def fuzz_aibot_payload(data: object) -> None:
    from datetime import UTC, datetime

    with contextlib.suppress(WeComCryptoError):
        parse_aibot_payload(data, now=datetime(2026, 1, 1, tzinfo=UTC), bot_name="邻里")


def fuzz_command(text: str) -> None:
    parse_command(text)


def fuzz_org_yaml(data: bytes) -> None:
    path = _ORG_DIR / "org.yaml"
    path.write_bytes(data)
    with contextlib.suppress(OrgFileError):
        load_org_file(path)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _json(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return _text(data)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "callback": fuzz_callback_bytes,
    "app_xml": fuzz_app_xml,
    "aibot": lambda data: fuzz_aibot_payload(_json(data)),
    "command": lambda data: fuzz_command(_text(data)),
    "org": fuzz_org_yaml,
}


def run_plain(target: Callable[[bytes], None], seconds: float, runs: int) -> int:
    """Without atheris: random and mutated inputs for a time budget; returns the executions."""
    import random

    rng = random.Random(13)
    seeds = [b"<xml><Encrypt>abc</Encrypt></xml>", b'{"encrypt": "abc"}', "接单 #12".encode(), b"communities: []"]
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and done < runs:
        base = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(0, 8)):
            position = rng.randint(0, len(base))
            base[position:position] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 8)))
        target(bytes(base) if rng.random() < 0.7 else rng.randbytes(rng.randint(0, 512)))
        done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=sorted(TARGETS), action="append")
    parser.add_argument("--seconds", type=float, default=60.0, help="per target")
    parser.add_argument("--runs", type=int, default=10**9, help="per target, at most")
    parser.add_argument("--plain", action="store_true", help="do not use atheris even if installed")
    args = parser.parse_args()
    names = args.target or sorted(TARGETS)
    tracemalloc.start()
    for name in names:
        target = TARGETS[name]
        started = time.monotonic()
        executions = run_plain(target, args.seconds, args.runs)
        _, peak = tracemalloc.get_traced_memory()
        elapsed = time.monotonic() - started
        print(f"{name}: {executions} executions in {elapsed:.0f}s, peak {peak / 2**20:.1f} MiB, no crash")
    if not args.plain and len(names) == 1:
        try:
            import atheris  # type: ignore[import-not-found]
        except ImportError:
            return
        target = TARGETS[names[0]]
        atheris.instrument_all()  # coverage guidance needs the already imported parsers' bytecode instrumented
        atheris.Setup([sys.argv[0], f"-max_total_time={int(args.seconds)}", "-rss_limit_mb=1024"], target)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
