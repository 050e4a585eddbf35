"""Scoring a classifier against a labelled corpus (JSON lines with text, kind, urgent, domain)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
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
    check: bool = False


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


@dataclass(frozen=True, slots=True)
class Band:
    """Messages whose confidence fell in [low, high) and how many of them got the kind right."""

    low: float
    high: float
    count: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0


BAND_EDGES = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


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
    alarm_recall: float = 0.0  # urgent reports flagged urgent or check
    check_rate: float = 0.0  # non-urgent messages flagged check
    calibration: list[Band] = field(default_factory=list)

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
            "alarm_recall": self.alarm_recall,
            "check_rate": self.check_rate,
            "calibration": [
                {"low": b.low, "high": min(b.high, 1.0), "count": b.count, "accuracy": b.accuracy}
                for b in self.calibration
            ],
            "domain_accuracy": self.domain_accuracy,
            "domain_support": self.domain_support,
        }


_FIELDS = ("id", "text", "kind", "urgent", "domain")
_KNOWN_FIELDS = frozenset((*_FIELDS, "check", "note"))


def parse_example(line: str, path: Path, number: int) -> Example:
    """One labelled line ``{"id","text","kind","urgent","domain"}`` (optional ``check``, ``note``);
    ``CorpusError("FILE:LINE: reason")`` for anything else."""

    def bad(reason: str) -> CorpusError:
        return CorpusError(f"{path}:{number}: {reason}")

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise bad(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise bad("expected a JSON object")
    missing = [name for name in _FIELDS if name not in obj]
    if missing:
        raise bad(f"missing field {', '.join(repr(m) for m in missing)}")
    unknown = sorted(set(obj) - _KNOWN_FIELDS)
    if unknown:
        raise bad(f"unknown field {', '.join(repr(u) for u in unknown)}")
    text, urgent, check = obj["text"], obj["urgent"], obj.get("check", False)
    if not isinstance(text, str) or not text.strip():
        raise bad("'text' must be a non-empty string")
    if not isinstance(obj["id"], str | int) or isinstance(obj["id"], bool):
        raise bad("'id' must be a string or a number")
    if not isinstance(urgent, bool) or not isinstance(check, bool):
        raise bad("'urgent' and 'check' must be true or false")
    try:
        kind = Kind(obj["kind"])
    except ValueError:
        raise bad(f"unknown kind {obj['kind']!r} (one of {', '.join(k.value for k in Kind)})") from None
    try:
        domain = Domain(obj["domain"])
    except ValueError:
        raise bad(f"unknown domain {obj['domain']!r} (one of {'、'.join(d.value for d in Domain)})") from None
    if urgent and kind is not Kind.MAJOR:
        raise bad("only a major message can be urgent")
    if urgent and check:
        raise bad("a message is urgent or check, not both")
    return Example(str(obj["id"]), text, kind, urgent, domain, number, check)


def read_corpus(path: Path) -> list[Example]:
    """Every labelled line of ``path`` (blank lines skipped); the first bad line raises ``CorpusError``."""
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}:0: cannot read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if line.strip():
            examples.append(parse_example(line, path, number))
    return examples


def read_requests(path: Path) -> list[tuple[str, bool]]:
    """A file of known requests (``{"text", "residential"?}`` per line) as (text, residential) pairs."""
    out: list[tuple[str, bool]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}:0: cannot read ({exc})") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise CorpusError(f"{path}:{number}: expected an object with a 'text' string")
        out.append((obj["text"], obj.get("residential") is True))
    return out


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _severity(example: Example, decision: Decision) -> int:
    """Bigger is worse: a missed emergency first, then a false emergency, then kind and domain slips."""
    score = 0
    if example.urgent and not decision.urgent:
        score += 60 if decision.check else 100
    if decision.urgent and not example.urgent:
        score += 40
    distance = abs(KINDS.index(example.kind) - KINDS.index(decision.kind))
    score += 10 * distance
    if example.kind is not Kind.NOISE and decision.kind is not Kind.NOISE and example.domain != decision.domain:
        score += 3
    return score


def evaluate(classifier: Classifier, examples: Sequence[Example], worst: int = 20) -> Report:
    decisions = [classifier.classify(example.text) for example in examples]
    return score(examples, decisions, worst)


def score(examples: Sequence[Example], decisions: Iterable[Decision], worst: int = 20) -> Report:
    kind_confusion = {gold: dict.fromkeys(KINDS, 0) for gold in KINDS}
    domain_confusion = {gold: dict.fromkeys(DOMAINS, 0) for gold in DOMAINS}
    urgent_hit = urgent_total = false_alarm = calm_total = alarm_hit = checked = 0
    bands = [[0, 0] for _ in BAND_EDGES[:-1]]
    domain_hit = domain_total = 0
    mistakes: list[Mistake] = []
    pairs = list(zip(examples, decisions, strict=True))
    for example, decision in pairs:
        kind_confusion[example.kind][decision.kind] += 1
        if example.urgent:
            urgent_total += 1
            urgent_hit += decision.urgent
            alarm_hit += decision.urgent or decision.check
        else:
            calm_total += 1
            false_alarm += decision.urgent
            checked += decision.check
        for index, high in enumerate(BAND_EDGES[1:]):
            if decision.confidence < high:
                bands[index][0] += 1
                bands[index][1] += decision.kind is example.kind
                break
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
        alarm_recall=_ratio(alarm_hit, urgent_total),
        check_rate=_ratio(checked, calm_total),
        calibration=[
            Band(low, high, count, correct)
            for (low, high), (count, correct) in zip(pairwise(BAND_EDGES), bands, strict=True)
        ],
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
        f"urgent-or-check recall:   {report.alarm_recall:.3f}  (of {report.urgent_support})",
        f"non-urgent flagged check: {report.check_rate:.3f}",
        f"domain accuracy:          {report.domain_accuracy:.3f}  (trivial+major, {report.domain_support})",
        "",
        "calibration (confidence band -> kind accuracy):",
        *(
            f"  {b.low:.1f}-{min(b.high, 1.0):.1f}  {b.count:>6}  {b.accuracy:.3f}"
            if b.count
            else f"  {b.low:.1f}-{min(b.high, 1.0):.1f}  {b.count:>6}      -"
            for b in report.calibration
        ),
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
            expected = f"{e.kind.value}{'!' if e.urgent else '?' if e.check else ''}/{e.domain.value}"
            got = f"{d.kind.value}{'!' if d.urgent else '?' if d.check else ''}/{d.domain.value}"
            out.append(f"  [{e.id}] gold {expected} got {got}  {e.text}")
            out.append(f"        rules: {', '.join(d.rules) or '-'}")
    return "\n".join(out)
