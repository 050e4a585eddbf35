"""Alarms are for danger that may be happening now (docs/classifier.md, labelling conventions of round 3).

A danger told as a past event or reported again and again, with nothing saying it goes on, asks for a fix:
major, not urgent, no check. A follow-up saying it is over is chat. A nuisance in vivid words is not a
danger unless the message is read as major. Sentences written for these tests, not in any corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.blend import BlendSettings, RuleVerdict, blend
from nlp.classifier import DEFAULT_MODEL, RuleClassifier, load_classifier
from nlp.decision import Kind
from nlp.model import Prediction

from .conftest import RULES


@pytest.fixture(scope="module")
def learned(cache_dir: Path) -> RuleClassifier:
    return load_classifier(RULES, cache_dir, model_file=DEFAULT_MODEL)


PAST = [
    "前天夜里有人从楼上扔了个酒瓶下来，碎了一地，能不能查查监控",
    "上个月车库入口有人被道闸砸伤，到今天物业都没修",
    "琴晚有人喺停车场打交，今日仲见到地下有血，可唔可以加多个保安",
]
CHRONIC = ["电梯频繁困人，投诉多次没人管"]
NOW = [
    "有人从楼上扔酒瓶下来，差点砸到人",
    "昨晚开始一直有煤气味，现在还有，谁来看看",
    "昨天那个独居的阿婆到现在还没回来，电话也打不通",
]


@pytest.mark.parametrize("text", PAST + CHRONIC)
def test_a_danger_told_as_past_or_chronic_is_major_without_alarm(
    classifier: RuleClassifier, learned: RuleClassifier, text: str
) -> None:
    for judge in (classifier, learned):
        decision = judge.classify(text)
        assert decision.kind is Kind.MAJOR, decision
        assert not decision.urgent, decision
        assert not decision.check, decision
        assert any(reason.endswith("@past") for reason in decision.rules), decision


@pytest.mark.parametrize("text", NOW)
def test_a_danger_still_happening_keeps_its_alarm(learned: RuleClassifier, text: str) -> None:
    decision = learned.classify(text)
    assert decision.urgent or decision.check, decision
    assert not any(reason.endswith("@past") for reason in decision.rules), decision


@pytest.mark.parametrize(
    "text",
    ["消防车走了，火已经扑熄，冇人受伤", "救护车到了，阿伯醒过来了，多谢大家", "囡囡咳出来了，是粒糖，吓死我"],
)
def test_a_follow_up_saying_it_is_over_is_chat(learned: RuleClassifier, text: str) -> None:
    decision = learned.classify(text)
    assert decision.kind is Kind.NOISE, decision
    assert not decision.urgent, decision
    assert not decision.check, decision


def _prediction(kind: tuple[float, float, float], danger: float) -> Prediction:
    return Prediction(kind, danger, (), (), 1.0, (0.0,) * 8)


def _verdict(signals: frozenset[str] = frozenset(), past_danger: float = 0.0) -> RuleVerdict:
    return RuleVerdict(Kind.TRIVIAL, False, 0.0, (0.6, 1.0, 0.0), True, {}, signals, (), 20, past_danger)


def test_the_model_alone_needs_more_to_ask_for_a_check_on_a_minor_message() -> None:
    settings = BlendSettings(check_model=0.7, check_model_minor=0.9)
    minor, major = _prediction((0.1, 0.8, 0.1), 0.8), _prediction((0.1, 0.1, 0.8), 0.8)
    assert not blend(_verdict(), minor, settings).check
    assert blend(_verdict(), _prediction((0.1, 0.8, 0.1), 0.95), settings).check
    assert blend(_verdict(), major, settings).check


def test_the_model_alone_raises_nothing_urgent_on_a_past_event() -> None:
    settings = BlendSettings()
    sure = _prediction((0.0, 0.0, 1.0), 0.99)
    assert blend(_verdict(), sure, settings).urgent
    decision = blend(_verdict(frozenset({"past"})), sure, settings)
    assert not decision.urgent
    assert decision.check
    quiet = blend(_verdict(frozenset({"past"}), past_danger=1.0), _prediction((0.1, 0.8, 0.1), 0.99), settings)
    assert (quiet.kind, quiet.urgent, quiet.check) == (Kind.MAJOR, False, False)
