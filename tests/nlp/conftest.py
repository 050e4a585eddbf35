from __future__ import annotations

from pathlib import Path

import pytest

from nlp.classifier import RuleClassifier, load_classifier

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "rules.yaml"
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jieba-cache")


@pytest.fixture(scope="session")
def classifier(cache_dir: Path) -> RuleClassifier:
    return load_classifier(RULES, cache_dir)
