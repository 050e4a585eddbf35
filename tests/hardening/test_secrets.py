"""Secrets come from the environment or a file, never from argv; the login QR code is shown once, not logged."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.wecom import vectors as v

ARGS = ["wecom", "decrypt", "--receive-id", v.CORP_ID, "--signature", v.V4_SIGNATURE, "--timestamp", v.V4_TIMESTAMP]
ARGS += ["--nonce", v.V4_NONCE, "--echostr", v.V4_ECHOSTR]


def _decrypt(*extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *ARGS, *extra], capture_output=True, env=env, check=False, timeout=60
    )


def test_decrypt_takes_the_secrets_from_the_environment() -> None:
    import os

    env = {**os.environ, "LINLI_WECOM_TOKEN": v.TOKEN, "LINLI_WECOM_AES_KEY": v.AES_KEY}
    result = _decrypt(env=env)
    assert (result.returncode, result.stdout) == (0, v.V4_PLAIN)
    assert b"process list" not in result.stderr


def test_decrypt_takes_the_secrets_from_files(tmp_path: Path) -> None:
    token, key = tmp_path / "token", tmp_path / "key"
    token.write_text(v.TOKEN + "\n")
    key.write_text(v.AES_KEY)
    result = _decrypt("--token-file", str(token), "--aes-key-file", str(key))
    assert (result.returncode, result.stdout) == (0, v.V4_PLAIN)


def test_decrypt_warns_when_secrets_are_on_the_command_line() -> None:
    result = _decrypt("--token", v.TOKEN, "--aes-key", v.AES_KEY)  # still works: outside checks use it
    assert (result.returncode, result.stdout) == (0, v.V4_PLAIN)
    assert b"process list" in result.stderr


def test_the_login_qr_code_is_shown_once_as_a_url_and_never_logged(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("wechaty_puppet_service")
    from bot.adapters.wechaty import WechatyAdapter
    from tests.wechaty.conftest import fast_settings

    adapter = WechatyAdapter(fast_settings("127.0.0.1:1"))
    scan = SimpleNamespace(status=SimpleNamespace(name="Waiting"), qrcode="https://login.weixin.qq.com/l/SECRETQR")
    with caplog.at_level(logging.DEBUG):
        adapter._on_scan(scan)
        adapter._on_scan(scan)
    assert "SECRETQR" not in caplog.text
    assert "not logged in" in caplog.text
    shown = capsys.readouterr().err
    assert shown.count("SECRETQR") == 1
    assert "https://" in shown
