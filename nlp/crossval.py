"""Leave-one-round-out cross-validation: the development estimate of how the classifier generalises.

``tests/data/dev.jsonl`` holds rounds written at different times by different hands: the original
corpus (ids ``d…``) and three blind rounds (``f…``, ``b2-…``, ``b3-…``). Each round in turn is held out:
the learned layer is trained on every other round plus the extra corpora, and the held-out round is
scored three ways: the model alone, the rules alone and the blend. The rules were tuned on every round,
so their figures here flatter them (and the blend); the model-alone figures are the honest ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlp.blend import BlendSettings
from nlp.classifier import RuleClassifier
from nlp.evaluation import Example, Report, score
from nlp.model import LearnedModel, build_model
from nlp.train import TrainSettings, fit

ROUNDS = (("d", "d"), ("f", "f"), ("b2", "b2-"), ("b3", "b3-"))
MODEL_ONLY = BlendSettings(use_rules=False)


def round_of(example: Example) -> str:
    for name, prefix in reversed(ROUNDS):
        if example.id.startswith(prefix):
            return name
    return "other"


@dataclass(frozen=True, slots=True)
class Fold:
    name: str
    held_out: list[Example]
    model: LearnedModel


def folds(
    classifier: RuleClassifier,
    dev: Sequence[Example],
    extra: Sequence[Example],
    settings: TrainSettings,
    rounds: Sequence[str] = ("f", "b2", "b3"),
) -> list[Fold]:
    """One fold per round: the model text trained without that round (features computed once)."""
    features = {id(e): classifier.features(e.text) for e in (*dev, *extra)}
    out = []
    for name in rounds:
        held = [e for e in dev if round_of(e) == name]
        train = [e for e in dev if round_of(e) != name] + list(extra)
        bias, rows = fit(train, [features[id(e)] for e in train], settings)
        out.append(Fold(name, held, build_model(bias, rows, classifier.ruleset.path)))
    return out


def evaluate_fold(classifier: RuleClassifier, fold: Fold, blend: BlendSettings | None) -> Report:
    """Score the held-out round with the fold's model and ``blend`` (None: the rules alone)."""
    judge = classifier.with_model(None if blend is None else fold.model, blend)
    return score(fold.held_out, [judge.classify(e.text) for e in fold.held_out], worst=0)
