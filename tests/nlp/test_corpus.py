"""The labelled corpus is big and varied enough, and the classifier meets the floors on the test split.

The test split was committed before any rule was written and is never edited to fit the rules.
"""

from __future__ import annotations

import re

import opencc
import pytest

from nlp.classifier import RuleClassifier
from nlp.decision import Kind
from nlp.evaluation import Example, evaluate, read_corpus

from .conftest import DATA

CANTONESE = re.compile(
    r"[咗冇唔嘅啲佢喺睇嘢咩嚟噉揾搵嗰哋嘈瞓吠畀攞掂喇咁嘞啱]|係咪|系咪|边个|邊個|点样|點樣|屋企|成日|成晚|饮茶|落雨|边度|邊度|点算|點算"
)
ENGLISH = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def dev() -> list[Example]:
    return read_corpus(DATA / "dev.jsonl")


@pytest.fixture(scope="module")
def test_split() -> list[Example]:
    return read_corpus(DATA / "test.jsonl")


def test_corpus_is_large_and_written_like_real_groups(dev: list[Example], test_split: list[Example]) -> None:
    corpus = dev + test_split
    assert len(corpus) >= 800
    texts = [e.text for e in corpus]
    assert len(set(texts)) == len(texts), "a message appears twice"
    t2s = opencc.OpenCC("t2s")
    n = len(corpus)
    assert sum(bool(CANTONESE.search(t)) for t in texts) / n >= 0.15
    assert sum(t2s.convert(t) != t for t in texts) / n >= 0.08
    assert sum(bool(ENGLISH.search(t)) for t in texts) / n >= 0.05


def test_dev_holds_the_blind_written_set_as_tuning_data(dev: list[Example]) -> None:
    # issue 3: 450 messages written before reading the rules measured generalisation once, then joined dev
    assert len(dev) >= 1181
    fresh = [e for e in dev if e.id.startswith("f")]
    assert len(fresh) >= 450
    assert not (DATA / "fresh.jsonl").exists(), "the fresh set is tuning data now; do not keep a held-out copy"


def test_dev_holds_the_second_blind_set_as_tuning_data(dev: list[Example]) -> None:
    # issue 3, second blind round: blind2 measured generalisation once, then joined dev
    assert len(dev) >= 1720
    assert sum(e.id.startswith("b2-") for e in dev) >= 539
    assert not (DATA / "blind2.jsonl").exists(), "blind2 is tuning data now; do not keep a held-out copy"


def test_dev_holds_the_fourth_blind_set_as_tuning_data(dev: list[Example]) -> None:
    # issue 10, fourth blind round: blind4 was scored once before any change and once on the merged
    # classifier (docs/classifier.md), then joined dev without the 12 chat strings the corpora already held
    assert len(dev) >= 2709
    assert sum(e.id.startswith("b4-") for e in dev) == 504
    assert not (DATA / "blind4.jsonl").exists(), "blind4 is tuning data now; do not keep a held-out copy"


def test_dev_holds_the_fifth_blind_set_as_tuning_data(dev: list[Example]) -> None:
    # issue 10, fifth blind round: blind5 was scored before and after round 2 (docs/classifier.md), then joined
    # dev as round b5 without the 7 chat strings the corpora or the test split already held
    assert len(dev) >= 3229
    assert sum(e.id.startswith("b5-") for e in dev) == 520
    assert not (DATA / "blind5.jsonl").exists(), "blind5 is tuning data now; do not keep a held-out copy"


def test_labels_follow_the_conventions(dev: list[Example], test_split: list[Example]) -> None:
    for example in dev + test_split:
        assert not example.urgent or example.kind is Kind.MAJOR, example.id
    kinds = {e.kind for e in test_split}
    assert kinds == set(Kind)
    assert sum(e.urgent for e in test_split) >= 30


def test_test_split_meets_the_floors(classifier: RuleClassifier, test_split: list[Example]) -> None:
    report = evaluate(classifier, test_split)
    assert report.macro_f1 >= 0.90
    assert report.urgent_recall >= 0.95
    assert report.urgent_false_positive_rate <= 0.02
    assert report.domain_accuracy >= 0.85


def test_dev_split_meets_the_floors(classifier: RuleClassifier, dev: list[Example]) -> None:
    report = evaluate(classifier, dev)
    assert report.macro_f1 >= 0.90
    assert report.urgent_recall >= 0.95
    assert report.urgent_false_positive_rate <= 0.02
    assert report.domain_accuracy >= 0.85
