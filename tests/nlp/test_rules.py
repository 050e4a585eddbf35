"""Broken rules files are refused with FILE:LINE: reason; the running classifier is unaffected."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.classifier import RuleClassifier, load_classifier
from nlp.decision import Kind
from nlp.rules import RulesError

from .conftest import RULES

GOOD = """\
version: 1
rules:
  - id: fire
    kind: major
    domain: 安全管理
    urgent: true
    weight: 3
    words: [着火]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("version: 1\nrules: [\n", 3, "not valid YAML"),
        ("version: 9\nrules: []\n", 1, "not supported"),
        (GOOD.replace("domain: 安全管理", "domain: 安全"), 5, "unknown domain"),
        (GOOD.replace("kind: major", "kind: huge"), 4, "noise, trivial or major"),
        (GOOD.replace("weight: 3", "weight: lots"), 7, "must be a number"),
        (GOOD.replace("    words: [着火]\n", ""), 3, "needs 'words'"),
        (GOOD + "    colour: red\n", 9, "unknown key 'colour'"),
        (GOOD + GOOD.split("rules:\n")[1], 9, "already used on line 3"),
        (GOOD.replace("kind: major", "kind: trivial"), 6, "only a major rule can be urgent"),
        (GOOD.replace("    urgent: true\n", "    requires: [rumour]\n"), 6, "unknown signal 'rumour'"),
    ],
)
def test_broken_file_names_file_line_and_reason(
    tmp_path: Path, cache_dir: Path, text: str, line: int, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_classifier(path, cache_dir)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert reason in message


def test_missing_file_is_a_rules_error(tmp_path: Path, cache_dir: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_classifier(tmp_path / "nope.yaml", cache_dir)


def test_reload_keeps_the_old_classifier_working(tmp_path: Path, cache_dir: Path, classifier: RuleClassifier) -> None:
    before = classifier.classify("楼道有煤气味")
    with pytest.raises(RulesError):
        load_classifier(write(tmp_path, "version: 1\nrules:\n  - id: x\n"), cache_dir)
    assert classifier.classify("楼道有煤气味") == before
    small = load_classifier(write(tmp_path, GOOD), cache_dir)
    assert small.classify("三楼着火了").kind is Kind.MAJOR
    assert small.classify("楼道有煤气味").kind is Kind.NOISE  # the small file knows no gas rule
    assert classifier.classify("楼道有煤气味") == before  # the two do not share jieba state


def test_shipped_rules_load(cache_dir: Path) -> None:
    assert len(load_classifier(RULES, cache_dir).ruleset.rules) > 50
