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
