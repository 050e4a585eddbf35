"""The running classifier loads the learned layer beside the rules, reloads it, and says when it is degraded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.live_classifier import LiveClassifier
from config.settings import NlpSettings
from nlp.classifier import DEFAULT_MODEL

from .conftest import RULES


def settings(tmp_path: Path, model: Path | None) -> NlpSettings:
    rules = tmp_path / "rules.yaml"
    shutil.copyfile(RULES, rules)
    return NlpSettings(rules_file=rules, model_file=model, cache_dir=tmp_path / "cache", watch_seconds=0)


def test_status_reports_the_learned_layer(tmp_path: Path) -> None:
    model = tmp_path / "model.tsv"
    shutil.copyfile(DEFAULT_MODEL, model)
    live = LiveClassifier(settings(tmp_path, model))
    status = live.status()
    assert status["degraded"] is False
    assert status["degraded_reason"] is None
    assert isinstance(status["model_features"], int)
    assert status["model_features"] > 1000
    assert {"file", "version", "rules", "loaded_at", "last_error"} <= set(status)  # existing keys stay


def test_a_broken_model_degrades_to_the_rules_and_a_fixed_one_reloads(tmp_path: Path) -> None:
    model = tmp_path / "model.tsv"
    model.write_text("format\t1\ngarbage\n", encoding="utf-8")
    live = LiveClassifier(settings(tmp_path, model))
    status = live.status()
    assert status["degraded"] is True
    assert str(model) in str(status["degraded_reason"])
    assert live.classify("电梯困人了").urgent  # the rules carry on

    shutil.copyfile(DEFAULT_MODEL, model)
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert live.changed()
    assert live.reload()
    assert live.status()["degraded"] is False
    assert any(reason.startswith("model:") for reason in live.classify("楼上渗水到我家").rules)


def test_no_model_configured_is_not_degraded(tmp_path: Path) -> None:
    live = LiveClassifier(settings(tmp_path, None))
    status = live.status()
    assert status["degraded"] is False
    assert status["model_file"] is None


class Watched(LiveClassifier):
    """Records what a reader of ``status()`` would see the moment a new classifier is published."""

    seen: list[object]

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name == "_current" and hasattr(self, "seen"):
            self.seen.append(self.status()["last_error"])


def test_a_good_reload_after_a_refused_file_is_never_seen_with_the_old_error(tmp_path: Path) -> None:
    config = settings(tmp_path, None)
    live = Watched(config)
    live.seen = []
    good = config.rules_file.read_text(encoding="utf-8")
    config.rules_file.write_text(good + "  - {id: broken, kind: nonsense\n", encoding="utf-8")
    assert not live.reload()
    assert live.status()["last_error"]
    config.rules_file.write_text(good, encoding="utf-8")
    stat = config.rules_file.stat()
    os.utime(config.rules_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert live.reload()
    assert live.seen == [None]  # /healthz reads from the event loop while the reload runs in a thread
