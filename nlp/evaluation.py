"""Scoring a classifier against a labelled corpus (JSON lines with text, kind, urgent, domain)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp.decision import Classifier, Decision, Domain, Kind

KINDS = tuple(Kind)
DOMAINS = tuple(Domain)


class CorpusError(ValueError):
    """A labelled file is broken; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    kind: Kind
    urgent: bool
    domain: Domain
    line: int


@dataclass(frozen=True, slots=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Mistake:
    example: Example
    decision: Decision
    severity: int


@dataclass(slots=True)
class Report:
    total: int
    per_kind: dict[Kind, ClassScore]
    macro_f1: float
    kind_accuracy: float
    urgent_recall: float
    urgent_false_positive_rate: float
    urgent_support: int
    domain_accuracy: float
    domain_support: int
    kind_confusion: dict[Kind, dict[Kind, int]]
    domain_confusion: dict[Domain, dict[Domain, int]]
    mistakes: list[Mistake] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "per_kind": {
                k.value: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
                for k, s in self.per_kind.items()
            },
            "macro_f1": self.macro_f1,
            "kind_accuracy": self.kind_accuracy,
            "urgent_recall": self.urgent_recall,
            "urgent_false_positive_rate": self.urgent_false_positive_rate,
            "urgent_support": self.urgent_support,
            "domain_accuracy": self.domain_accuracy,
            "domain_support": self.domain_support,
        }


def read_corpus(path: Path) -> list[Example]:
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError("not an object")
            text = obj["text"]
            urgent = obj["urgent"]
            if not isinstance(text, str) or not isinstance(urgent, bool):
                raise TypeError("text must be a string and urgent a boolean")
            example = Example(
                id=str(obj.get("id", number)),
                text=text,
                kind=Kind(obj["kind"]),
                urgent=urgent,
                domain=Domain(obj["domain"]),
                line=number,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{number}: bad labelled example ({exc})") from exc
        examples.append(example)
    return examples


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _severity(example: Example, decision: Decision) -> int:
    """Bigger is worse: a missed emergency first, then a false emergency, then kind and domain slips."""
    score = 0
    if example.urgent and not decision.urgent:
        score += 100
    if decision.urgent and not example.urgent:
        score += 40
    distance = abs(KINDS.index(example.kind) - KINDS.index(decision.kind))
    score += 10 * distance
    if (
        example.kind is not Kind.NOISE
        and decision.kind is not Kind.NOISE
        and example.domain != decision.domain
    ):
        score += 3
    return score


def evaluate(classifier: Classifier, examples: Sequence[Example], worst: int = 20) -> Report:
    decisions = [classifier.classify(example.text) for example in examples]
    return score(examples, decisions, worst)


def score(examples: Sequence[Example], decisions: Iterable[Decision], worst: int = 20) -> Report:
    kind_confusion = {gold: dict.fromkeys(KINDS, 0) for gold in KINDS}
    domain_confusion = {gold: dict.fromkeys(DOMAINS, 0) for gold in DOMAINS}
    urgent_hit = urgent_total = false_alarm = calm_total = 0
    domain_hit = domain_total = 0
    mistakes: list[Mistake] = []
    pairs = list(zip(examples, decisions, strict=True))
    for example, decision in pairs:
        kind_confusion[example.kind][decision.kind] += 1
        if example.urgent:
            urgent_total += 1
            urgent_hit += decision.urgent
        else:
            calm_total += 1
            false_alarm += decision.urgent
        if example.kind is not Kind.NOISE:
            domain_total += 1
            domain_hit += decision.domain == example.domain
            domain_confusion[example.domain][decision.domain] += 1
        severity = _severity(example, decision)
        if severity:
            mistakes.append(Mistake(example, decision, severity))
    per_kind: dict[Kind, ClassScore] = {}
    for kind in KINDS:
        tp = kind_confusion[kind][kind]
        predicted = sum(kind_confusion[gold][kind] for gold in KINDS)
        support = sum(kind_confusion[kind].values())
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_kind[kind] = ClassScore(precision, recall, f1, support)
    mistakes.sort(key=lambda m: (-m.severity, m.example.line))
    return Report(
        total=len(pairs),
        per_kind=per_kind,
        macro_f1=sum(s.f1 for s in per_kind.values()) / len(per_kind),
        kind_accuracy=_ratio(sum(kind_confusion[k][k] for k in KINDS), len(pairs)),
        urgent_recall=_ratio(urgent_hit, urgent_total),
        urgent_false_positive_rate=_ratio(false_alarm, calm_total),
        urgent_support=urgent_total,
        domain_accuracy=_ratio(domain_hit, domain_total),
        domain_support=domain_total,
        kind_confusion=kind_confusion,
        domain_confusion=domain_confusion,
        mistakes=mistakes[:worst],
    )


def format_report(report: Report) -> str:
    """Plain-text report for the terminal."""
    out: list[str] = [f"messages: {report.total}", "", f"{'kind':<10}{'P':>7}{'R':>7}{'F1':>7}{'n':>6}"]
    for kind, s in report.per_kind.items():
        out.append(f"{kind.value:<10}{s.precision:>7.3f}{s.recall:>7.3f}{s.f1:>7.3f}{s.support:>6}")
    out += [
        "",
        f"kind macro-F1:            {report.macro_f1:.3f}",
        f"kind accuracy:            {report.kind_accuracy:.3f}",
        f"urgent recall:            {report.urgent_recall:.3f}  (of {report.urgent_support})",
        f"urgent false-positive:    {report.urgent_false_positive_rate:.3f}  "
        f"(of {report.total - report.urgent_support} non-urgent)",
        f"domain accuracy:          {report.domain_accuracy:.3f}  (trivial+major, {report.domain_support})",
        "",
        "kind confusion (rows gold, columns predicted):",
        " " * 10 + "".join(f"{k.value:>9}" for k in KINDS),
    ]
    for kind in KINDS:
        out.append(f"{kind.value:<10}" + "".join(f"{report.kind_confusion[kind][p]:>9}" for p in KINDS))
    out += ["", "domain confusion on trivial+major (rows gold, columns predicted):"]
    out.append(" " * 6 + "".join(f"{d.value[:2]:>5}" for d in DOMAINS))
    for domain in DOMAINS:
        row = report.domain_confusion[domain]
        out.append(f"{domain.value[:2]:<4}" + "".join(f"{row[p]:>6}" for p in DOMAINS))
    if report.mistakes:
        out += ["", f"worst mistakes ({len(report.mistakes)}):"]
        for m in report.mistakes:
            e, d = m.example, m.decision
            expected = f"{e.kind.value}{'!' if e.urgent else ''}/{e.domain.value}"
            got = f"{d.kind.value}{'!' if d.urgent else ''}/{d.domain.value}"
            out.append(f"  [{e.id}] gold {expected} got {got}  {e.text}")
            out.append(f"        rules: {', '.join(d.rules) or '-'}")
    return "\n".join(out)
