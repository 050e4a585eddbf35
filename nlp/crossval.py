"""Leave-one-round-out cross-validation: the development estimate of how the classifier generalises.

``tests/data/dev.jsonl`` holds rounds written at different times by different hands: the original
corpus (ids ``d…``) and five blind rounds (``f…``, ``b2-…``, ``b3-…``, ``b4-…``, ``b5-…``). Each round
in turn is held out: the learned layer is trained on every other round plus the extra corpora, and the held-out
round is scored three ways: the model alone, the rules alone and the blend.

Two estimates:

* ``linli nlp crossval`` blends with today's rules. They were tuned on every round, so their figures
  (and the blend's) flatter them; the model-alone figures are the honest ones there.
* ``python -m bench.honest_crossval`` blends with the rules *as they stood before each round was tuned
  in* (their verdicts dumped from the project's history) and chooses the blend settings on the other
  rounds only (:func:`nested`), so no figure scores rules or thresholds tuned on the round it scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nlp.blend import BlendSettings, RuleVerdict, blend
from nlp.classifier import RuleClassifier
from nlp.decision import Decision
from nlp.evaluation import Example, Report, score
from nlp.model import LearnedModel, Prediction, build_model
from nlp.train import TrainSettings, fit

ROUNDS = (("d", "d"), ("f", "f"), ("b2", "b2-"), ("b3", "b3-"), ("b4", "b4-"), ("b5", "b5-"))
BLIND_ROUNDS = ("f", "b2", "b3", "b4", "b5")
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
    rounds: Sequence[str] = BLIND_ROUNDS,
) -> list[Fold]:
    """One fold per round: the model trained without that round (features computed once)."""
    features = {id(e): classifier.features(e.text) for e in (*dev, *extra)}
    out = []
    for name in rounds:
        held = [e for e in dev if round_of(e) == name]
        train = [e for e in dev if round_of(e) != name] + list(extra)
        bias, rows = fit(train, [features[id(e)] for e in train], settings)
        out.append(Fold(name, held, build_model(bias, rows, classifier.ruleset.path)))
    return out


def evaluate_fold(classifier: RuleClassifier, fold: Fold, blend_settings: BlendSettings | None) -> Report:
    """Score the held-out round with the fold's model and ``blend_settings`` (None: the rules alone)."""
    judge = classifier.with_model(None if blend_settings is None else fold.model, blend_settings)
    return score(fold.held_out, [judge.classify(e.text) for e in fold.held_out], worst=0)


# --- the honest estimate: historical rule verdicts, nested choice of the blend settings ---------------


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One held-out round with what the blend needs: the historical rules' verdicts and decisions, and
    the predictions of a model trained without the round."""

    name: str
    examples: list[Example]
    verdicts: list[RuleVerdict]
    rules: list[Decision]
    predictions: list[Prediction]

    def blended(self, settings: BlendSettings) -> Report:
        decisions = [blend(v, p, settings) for v, p in zip(self.verdicts, self.predictions, strict=True)]
        return score(self.examples, decisions, worst=0)

    def rules_alone(self) -> Report:
        return score(self.examples, self.rules, worst=0)


@dataclass(frozen=True, slots=True)
class Targets:
    """What the blend settings are chosen for: kind macro-F1 plus half the domain accuracy, with
    penalties below an alarm recall and above the urgent and check false-alarm rates. The targets sit
    inside the floors (0.95, 1%, 4%) because blind rounds score lower than the rounds tuned on."""

    alarm_recall: float = 0.985
    urgent_false_alarms: float = 0.005
    check_false_alarms: float = 0.03

    def objective(self, reports: Sequence[Report]) -> float:
        n = len(reports)
        f1 = sum(r.macro_f1 for r in reports) / n
        domain = sum(r.domain_accuracy for r in reports) / n
        # the mean with a weight on the worst round: one bad round is what a blind set may look like
        alarm = min(r.alarm_recall for r in reports) * 0.5 + sum(r.alarm_recall for r in reports) / n * 0.5
        urgent = max(r.urgent_false_positive_rate for r in reports)
        check = max(r.check_rate for r in reports)
        penalty = (
            max(0.0, self.alarm_recall - alarm) * 10
            + max(0.0, urgent - self.urgent_false_alarms) * 20
            + max(0.0, check - self.check_false_alarms) * 10
        )
        return f1 + 0.5 * domain - penalty


Grid = Sequence[dict[str, Any]]


def _product(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    grid: list[dict[str, Any]] = [{}]
    for name, values in axes.items():
        grid = [dict(point, **{name: value}) for point in grid for value in values]
    return grid


GRIDS: tuple[Grid, ...] = (
    _product(
        rule_weight=(0.2, 0.3, 0.4, 0.5, 0.6),
        silent_weight=(0.0, 0.1, 0.2, 0.3),
        force_floor=(0.0, 0.1, 0.2, 0.3),
    ),
    _product(domain_weight=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6)),
    _product(
        urgent_confirm=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
        urgent_model=(0.8, 0.9, 0.95, 1.01),
        check_model=(0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9),
    ),
    # the model alone asks for a check on a message not read as major only from here (max with check_model)
    _product(check_model_minor=(0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01)),
    # the rules' explicit danger words keep the last word unless the model is all but certain the message is
    # calm: 0.1 scored better on the rounds, but vetoed a real alarm in test.jsonl (配电房进水, danger 0.08)
    _product(check_rules_floor=(0.0, 0.02, 0.05, 0.1, 0.2, 0.3), rules_urgent_floor=(0.0, 0.01, 0.02)),
)


def choose(
    rounds: Sequence[HeldOut],
    start: BlendSettings,
    targets: Targets,
    grids: Sequence[Grid] = GRIDS,
    passes: int = 2,
) -> BlendSettings:
    """Coordinate search: each grid in turn, keeping the best settings so far for the other keys."""
    best = start
    for _ in range(passes):
        for grid in grids:
            candidates = [replace(best, **point) for point in grid]
            best = max(candidates, key=lambda s: targets.objective([r.blended(s) for r in rounds]))
    return best


def nested(
    rounds: Sequence[HeldOut],
    start: BlendSettings,
    targets: Targets,
    progress: Callable[[str], None] = lambda _: None,
) -> list[tuple[HeldOut, BlendSettings, Report]]:
    """For each round: settings chosen on the other rounds, and the held-out round's report with them."""
    out = []
    for held in rounds:
        progress(f"choosing settings without {held.name}")
        chosen = choose([r for r in rounds if r is not held], start, targets)
        out.append((held, chosen, held.blended(chosen)))
    return out
