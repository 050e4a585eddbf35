"""The segmenter cuts exactly as jieba's dictionary-only cut, on every corpus and on generated text."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.classifier import RuleClassifier

ROOT = Path(__file__).resolve().parents[2]
CORPORA = [ROOT / "tests" / "data" / "dev.jsonl", ROOT / "tests" / "data" / "test.jsonl"]
CORPORA += sorted((ROOT / "config" / "corpus").glob("*.jsonl"))


def test_the_cut_is_jiebas_on_every_corpus(classifier: RuleClassifier) -> None:
    segmenter = classifier._segmenter
    texts = [json.loads(line)["text"] for path in CORPORA for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) > 3000
    for text in texts:
        for form in (text, classifier._normalise(text)):
            assert segmenter.cut(form) == segmenter.jieba_cut(form), form


_HAN = "的一是了不在有人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
_PIECES = st.sampled_from(
    [
        *_HAN,
        *"abcXYZ0129 .%+-#&_\n\t，。！？、“”【】[]@😀",
        *("电梯", "煤气", "困人", "漏水", "天台", "救命", "一个人住", "没反应", "物业", "lift", "wifi", "3栋", "1502"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_cut_is_jiebas_on_any_text(classifier: RuleClassifier, text: str) -> None:
    segmenter = classifier._segmenter
    assert segmenter.cut(text) == segmenter.jieba_cut(text)
