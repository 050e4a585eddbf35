"""Bad input never raises and stays within bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.classifier import RuleClassifier
from nlp.decision import Decision, Kind

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

chat_alphabet = st.sampled_from(list("楼道煤气味电梯困人着火没有不是已经修好了吗?!，。[强]@ 冇咗唔lift"))


def check(decision: Decision) -> None:
    assert isinstance(decision, Decision)
    assert 0.0 <= decision.confidence <= 1.0
    assert not decision.urgent or decision.kind is Kind.MAJOR


@SETTINGS
@given(st.text())
def test_any_text(classifier: RuleClassifier, text: str) -> None:
    check(classifier.classify(text))


@SETTINGS
@given(st.text(alphabet=st.characters(categories=["Cc", "Cf", "Co", "Cs", "Zs"])))
def test_control_format_private_and_surrogate_characters(classifier: RuleClassifier, text: str) -> None:
    decision = classifier.classify(text)
    check(decision)
    assert decision.kind is Kind.NOISE


@SETTINGS
@given(st.binary())
def test_binary_junk(classifier: RuleClassifier, junk: bytes) -> None:
    check(classifier.classify(junk.decode("utf-8", errors="surrogateescape")))
    check(classifier.classify(junk.decode("latin-1")))


@SETTINGS
@given(st.lists(st.sampled_from(["😀", "👍", "🔥", "[强]", "[捂脸]", "🙏", "\u200d", "\ufe0f"]), max_size=50))
def test_emoji_only_is_noise(classifier: RuleClassifier, parts: list[str]) -> None:
    decision = classifier.classify("".join(parts))
    assert decision.kind is Kind.NOISE


@SETTINGS
@given(st.text(alphabet=chat_alphabet, max_size=300))
def test_chat_like_text(classifier: RuleClassifier, text: str) -> None:
    check(classifier.classify(text))


def test_hundred_thousand_characters_in_bounded_time(classifier: RuleClassifier) -> None:
    for text in ["楼道有煤气味" * 20_000, "a" * 100_000, "\x00" * 100_000, "😀" * 100_000, "楼" * 100_000]:
        start = time.perf_counter()
        check(classifier.classify(text))
        assert time.perf_counter() - start < 1.0
    assert classifier.classify("楼道有煤气味" * 20_000).urgent
