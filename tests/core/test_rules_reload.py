"""The running service reloads the rules when the file changes and on SIGHUP; a broken file is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from config.settings import CONFIG_DIR
from tests.core.test_cli import _free_port


def _healthz(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def _wait_for(port: int, check: Callable[[dict[str, object]], bool], seconds: float = 40) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    last: dict[str, object] | None = None
    while time.monotonic() < deadline:
        last = _healthz(port)
        if last is not None and check(last):
            return last
        time.sleep(0.3)
    raise AssertionError(f"condition not reached; last /healthz: {last}")


def _rules(body: dict[str, object]) -> dict[str, object]:
    rules = body["rules"]
    assert isinstance(rules, dict)
    return rules


def _write(path: Path, text: str) -> None:
    """Replace the file whole, as an editor's save does: a watcher never reads it half written."""
    partial = path.with_suffix(".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _with_extra_rules(text: str, count: int) -> str:
    """The shipped rules plus ``count`` more (rules is the file's last key)."""
    extra = "".join(
        f"  - id: test.extra{n}\n    kind: trivial\n    domain: 其他\n    weight: 1.0\n    words: [测试暗号{n}]\n"
        for n in range(count)
    )
    return text.rstrip("\n") + "\n" + extra


@pytest.mark.parametrize("watch_seconds", ["0.5", "0"])
def test_rules_file_edits_under_a_running_service(tmp_path: Path, watch_seconds: str) -> None:
    """With watching on, edits load by themselves; with it off (0), SIGHUP loads them."""
    original = (CONFIG_DIR / "rules.yaml").read_text(encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(original, encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")} | {
        "LINLI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "LINLI_HTTP__PORT": str(_free_port()),
        "LINLI_ADMIN__PORT": str(port),  # the details (rules among them) are on the admin listener
        "LINLI_NLP__RULES_FILE": str(rules),
        "LINLI_NLP__CACHE_DIR": str(tmp_path / "cache"),
        "LINLI_NLP__WATCH_SECONDS": watch_seconds,
    }
    watching = watch_seconds != "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _rules(_wait_for(port, lambda b: "rules" in b))
        shipped = int(str(first["rules"]))

        _write(rules, _with_extra_rules(original, 1))
        if not watching:
            time.sleep(1.5)
            assert _rules(_healthz(port) or {"rules": {}})["rules"] == shipped  # nothing reloads by itself
            proc.send_signal(signal.SIGHUP)
        _wait_for(port, lambda b: _rules(b)["rules"] == shipped + 1)

        _write(rules, _with_extra_rules(original, 2) + "  - {id: broken, kind: nonsense\n")
        if not watching:
            proc.send_signal(signal.SIGHUP)
        broken = _rules(_wait_for(port, lambda b: _rules(b)["last_error"] is not None))
        assert broken["rules"] == shipped + 1
        assert str(rules) in str(broken["last_error"])

        _write(rules, _with_extra_rules(original, 3))
        proc.send_signal(signal.SIGHUP)
        after = _rules(_wait_for(port, lambda b: _rules(b)["rules"] == shipped + 3))
        assert after["last_error"] is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
