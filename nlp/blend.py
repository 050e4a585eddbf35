"""Rules and learned layer together: one decision from the rules' votes and the model's probabilities.

* **Kind**: ``p = (1 - a) * p_model + a * p_rules`` where ``p_rules`` is the rules' score share (noise
  with its prior) and ``a`` is ``rule_weight`` when at least one kind rule voted, ``silent_weight`` when
  none did (a message no rule understands is not evidence of chat: real complaints use words the rules
  never listed). Noise wins when its share is at least that of trivial and major together (as in the
  rules); otherwise the larger of trivial and major, and the confidence is the request share.
* **Forced by the rules** where they are certain: a resolved follow-up, a posted notice, an ad, a
  forward or a poll that the rules read as noise stay noise, with no alarm, unless the model is sure it
  is a request (noise below ``force_floor``) or the message is a long letter (over ``force_max_chars``);
  explicit danger words (the
  rules' urgent) make the message major and at least ``check``.
* **Alarm tiers**: ``urgent`` when the rules say urgent and the model's danger probability is at least
  ``urgent_confirm``, or the model alone reaches ``urgent_model`` on a major message; otherwise ``check``
  when the rules say urgent, or their danger words voted below the urgent threshold, or the model's
  danger probability reaches ``check_model`` (``check_model_minor`` when the message is not read as
  major). On a message the rules read as a past event (昨晚, 上个月) or a chronic one (reported again and
  again), with nothing saying it goes on, the model alone makes nothing urgent, and nothing at all where
  the rules' danger words were told so. A check on a message read as noise makes it ``trivial``:
  someone is asked to look, so it is a request.
* **Service area**: ``(1 - b) * p_model + b * p_rules`` over the eight areas, ``b`` = ``domain_weight``
  when a problem rule voted, else the model alone.

Every threshold here is measured (``linli nlp crossval``; docs/classifier.md records the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple

from nlp.decision import Decision, Domain, Kind
from nlp.model import DOMAIN_COLUMNS, KIND_COLUMNS, Prediction, softmax

_NOISE, _TRIVIAL, _MAJOR = Kind.NOISE, Kind.TRIVIAL, Kind.MAJOR
_FORCING_SIGNALS = frozenset(("resolved", "notice", "ad", "forward", "poll"))
_PAST_SIGNALS = frozenset(("past", "chronic"))


@dataclass(frozen=True, slots=True)
class BlendSettings:
    """The choice of ``nlp.crossval.choose`` on the five blind rounds, with the rules as they stood before
    each round was tuned in (``python -m bench.honest_crossval``; how, and how close today's choice is, in
    docs/classifier.md)."""

    rule_weight: float = 0.2  # the rules' share of the kind probabilities when a kind rule voted
    silent_weight: float = 0.2  # ...when none did: a message no rule knows is the model's to read
    domain_weight: float = 0.3  # the rules' share of the area probabilities when a problem rule voted
    urgent_confirm: float = 0.6  # the rules' urgent stands when the model's danger probability reaches this
    urgent_model: float = 0.95  # the model alone makes a major message urgent from here
    check_model: float = 0.55  # the model alone asks for a check from here (its danger weights favour recall)
    # ...on a message read as trivial or noise it needs this much: a nuisance told in vivid words (烟往窗里钻,
    # 狗叫了一整天, 冻手) shares the danger words but not the kind
    check_model_minor: float = 0.75
    # the rules' urgent danger words make the message major and at least a check unless the model is all but
    # certain it is calm (a test of the fire alarm, a song that is 好火, a forwarded safety tip)
    rules_urgent_floor: float = 0.02
    # the rules' danger words that voted below the urgent threshold ask for a check only if the model's
    # danger probability reaches this (a forwarded article, a test of the alarm, a past event mention them)
    check_rules_floor: float = 0.02
    force_floor: float = 0.0  # the rules' forced noise stands only if the model's noise probability reaches it
    # ...and only in a message of at most this many characters: a letter of complaint mentions 公示, 招聘 or
    # 依法 in passing, a notice posted in the group is short
    force_max_chars: int = 150
    explain_features: int = 2
    use_rules: bool = True  # False: the model alone (cross-validation's honest baseline)


class RuleVerdict(NamedTuple):
    """What the rules concluded about one message, before the model is consulted."""

    kind: Kind
    urgent: bool
    danger_votes: float  # urgent rules' votes (0 = no danger word)
    scores: tuple[float, float, float]  # noise (with its prior), trivial, major
    voted: bool  # at least one kind rule voted
    domain_tally: dict[Domain, float]
    signals: AbstractSet[str]
    reasons: Sequence[str]
    chars: int = 0  # length of the normalised text
    past_danger: float = 0.0  # urgent rules' votes on a message told as past or chronic (they voted major only)


def blend(verdict: RuleVerdict, prediction: Prediction, settings: BlendSettings) -> Decision:
    if not settings.use_rules:
        verdict = _SILENT
    reasons = list(verdict.reasons)
    forced_noise = (
        verdict.kind is _NOISE
        and prediction.kind[0] >= settings.force_floor
        and verdict.chars <= settings.force_max_chars
        and not _FORCING_SIGNALS.isdisjoint(verdict.signals)
    )
    if forced_noise:
        probabilities = (1.0, 0.0, 0.0)
        reasons.append("@rules-forced")
    else:
        total = sum(verdict.scores)
        weight = settings.rule_weight if verdict.voted else settings.silent_weight
        rule_p = [s / total for s in verdict.scores] if total > 0 else [1.0, 0.0, 0.0]
        model_p = prediction.kind
        probabilities = (
            (1 - weight) * model_p[0] + weight * rule_p[0],
            (1 - weight) * model_p[1] + weight * rule_p[1],
            (1 - weight) * model_p[2] + weight * rule_p[2],
        )
    # noise against a request first (as the rules decide), then the larger of trivial and major
    if probabilities[0] >= probabilities[1] + probabilities[2]:
        best, confidence = 0, probabilities[0]
    else:
        best = 2 if probabilities[2] >= probabilities[1] else 1
        confidence = probabilities[1] + probabilities[2]
    kind = KIND_COLUMNS[best]

    urgent = check = False
    if not forced_noise:
        danger = prediction.danger
        # told as a past event (昨晚, 上个月) or a chronic one (讲咗几次都冇人理), nothing saying it goes on: the
        # model alone makes nothing urgent, and raises no alarm at all where the rules' danger words were past
        past = not verdict.signals.isdisjoint(_PAST_SIGNALS)
        model_check = settings.check_model if kind is _MAJOR else max(settings.check_model, settings.check_model_minor)
        if verdict.past_danger > 0:
            model_check = 2.0
            if kind is _TRIVIAL:  # a danger that happened and is told to ask for a fix is a major matter
                kind = _MAJOR
        if verdict.urgent and danger >= settings.rules_urgent_floor:
            kind = _MAJOR
            if danger >= settings.urgent_confirm:
                urgent = True
            else:
                check = True
                reasons.append("@check:rules")
        elif danger >= settings.urgent_model and kind is _MAJOR and not past:
            urgent = True
            reasons.append("@urgent:model")
        elif (verdict.danger_votes > 0 and danger >= settings.check_rules_floor) or danger >= model_check:
            check = True
            reasons.append("@check:rules" if verdict.danger_votes > 0 else "@check:model")
            if kind is _NOISE:
                kind = _TRIVIAL

    # the area model learned from requests only: for chat the area is informational, 其他 unless a rule says
    domain = _domain(verdict, prediction, settings) if kind is not _NOISE or verdict.domain_tally else Domain.OTHER
    column = best if kind is KIND_COLUMNS[best] else KIND_COLUMNS.index(kind)
    for word, weight in prediction.strongest(column, settings.explain_features):
        shown = _SHOWN.get((word, weight))
        if shown is None:
            if len(_SHOWN) >= _SHOWN_LIMIT:
                _SHOWN.clear()
            shown = _SHOWN[word, weight] = f"model:{word}+{weight:.1f}"
        reasons.append(shown)
    return Decision(kind, urgent, domain, min(max(confidence, 0.0), 1.0), tuple(reasons), check)


# formatted explanations, by (token, weight): the same tokens explain message after message
_SHOWN: dict[tuple[str, float], str] = {}
_SHOWN_LIMIT = 50_000
_SILENT = RuleVerdict(_NOISE, False, 0.0, (0.0, 0.0, 0.0), False, {}, frozenset(), ())


def _domain(verdict: RuleVerdict, prediction: Prediction, settings: BlendSettings) -> Domain:
    tally = verdict.domain_tally
    scores = prediction.domain_scores
    top = DOMAIN_COLUMNS[scores.index(max(scores))]  # the model's most probable area (the first if tied)
    if not tally or (len(tally) == 1 and top in tally):  # the rules can only add to it
        return top
    total = sum(tally.values())
    weight = settings.domain_weight
    blended = [(1 - weight) * p for p in softmax(scores)]
    for domain, votes in tally.items():
        blended[_DOMAIN_INDEX[domain]] += weight * votes / total
    return DOMAIN_COLUMNS[blended.index(max(blended))]


_DOMAIN_INDEX = {domain: index for index, domain in enumerate(DOMAIN_COLUMNS)}
