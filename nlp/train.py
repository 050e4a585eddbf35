"""Fitting the learned layer: labelled corpora in, a model file (``nlp.model`` format) out.

Needs the optional ``train`` extra (scikit-learn); nothing at run time imports this module. Same corpora,
same settings, same library versions, same kind of CPU -> the same bytes: the solver is deterministic
(L-BFGS, one thread), features and rows are sorted, weights are rounded to two decimals. Another CPU's BLAS
kernels may put a weight one rounding step apart.

Three regularised logistic regressions share one feature space (``nlp.features``): kind over every
message (softmax over noise/trivial/major), service area over the requests only (softmax over the eight
areas), and danger over every message (urgent or check vs the rest).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nlp.classifier import DEFAULT_COLLOQUIAL_MAP, DEFAULT_USER_DICT, RuleClassifier
from nlp.decision import Domain, Kind
from nlp.evaluation import Example, read_corpus
from nlp.features import FEATURE_VERSION
from nlp.model import COLUMNS, FORMAT_VERSION, file_sha256, format_model

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Featurise = Callable[[str], list[str]]


class TrainingError(Exception):
    """Training cannot run (no training library, too few examples of a class)."""


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Regularisation (inverse strength, scikit-learn's C) per model and the feature cut-off."""

    c_kind: float = 10.0
    c_domain: float = 10.0
    c_danger: float = 10.0
    # weight of an urgent-or-check example against a calm one in the danger model: the alarms are few
    # (about one message in ten) and a miss costs far more than a false check; 16 ranked the held-out
    # rounds' urgent reports best at a fixed check rate (docs/classifier.md)
    danger_weight: float = 16.0
    min_count: int = 2  # a feature must occur in at least this many training messages
    max_iter: int = 3000
    tol: float = 1e-6

    def as_header(self) -> list[tuple[str, ...]]:
        return [("setting", field.name, str(getattr(self, field.name))) for field in fields(self)]


def display_path(path: Path) -> str:
    """A path as the model header records it: relative to the project when inside it (stable bytes)."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def read_corpora(paths: Sequence[Path]) -> list[Example]:
    """All examples of all corpora; the first bad line anywhere raises ``CorpusError`` (nothing trained)."""
    examples: list[Example] = []
    for path in paths:
        examples += read_corpus(path)
    return examples


def _sklearn() -> tuple[Any, Any, Any]:
    try:
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise TrainingError(
            "training needs the optional 'train' extra (scikit-learn): pip install -e '.[train]'"
        ) from exc
    return csr_matrix, LogisticRegression, threadpool_limits


def fit(
    examples: Sequence[Example], features: Sequence[list[str]], settings: TrainSettings
) -> tuple[list[float], dict[str, list[float]]]:
    """(bias per column, feature -> weight per column) for ``examples`` and their ``features``."""
    csr_matrix, logistic_regression, threadpool_limits = _sklearn()
    counts: dict[str, int] = {}  # in how many messages each feature occurs
    for message in features:
        for feature in set(message):
            counts[feature] = counts.get(feature, 0) + 1
    vocabulary = sorted(f for f, n in counts.items() if n >= settings.min_count)
    index = {feature: position for position, feature in enumerate(vocabulary)}
    data: list[float] = []
    cols: list[int] = []
    indptr = [0]
    for message in features:
        # the same scale inference uses: every occurrence of a feature the model knows counts (words it has
        # never seen, such as place names, do not dilute the evidence of those it has)
        occurrences = Counter(index[f] for f in message if f in index)
        known = sum(occurrences.values())
        scale = 1.0 / math.sqrt(known) if known else 0.0
        for column in sorted(occurrences):
            cols.append(column)
            data.append(scale * occurrences[column])
        indptr.append(len(cols))
    matrix = csr_matrix((data, cols, indptr), shape=(len(features), len(vocabulary)))

    def model(c: float, class_weight: dict[int, float] | None = None) -> Any:
        return logistic_regression(
            C=c, solver="lbfgs", max_iter=settings.max_iter, tol=settings.tol, class_weight=class_weight
        )

    kinds = [k.value for k in Kind]
    domains = [d.value for d in Domain]
    kind_labels = [e.kind.value for e in examples]
    requests = [i for i, e in enumerate(examples) if e.kind is not Kind.NOISE]
    danger_labels = [int(e.urgent or e.check) for e in examples]
    for name, labels, wanted in (
        ("kind", kind_labels, kinds),
        ("service area", [examples[i].domain.value for i in requests], domains),
    ):
        absent = sorted(set(wanted) - set(labels))
        if absent:
            raise TrainingError(f"the corpora have no {name} example labelled {', '.join(absent)}")
    if len(set(danger_labels)) < 2:
        raise TrainingError("the corpora need both urgent (or check) and calm examples")

    with threadpool_limits(limits=1):
        kind_model = model(settings.c_kind).fit(matrix, kind_labels)
        domain_model = model(settings.c_domain).fit(matrix[requests], [examples[i].domain.value for i in requests])
        danger_model = model(settings.c_danger, {0: 1.0, 1: settings.danger_weight}).fit(matrix, danger_labels)

    def ordered(fitted: Any, wanted: list[str]) -> list[int]:
        classes = [str(c) for c in fitted.classes_]
        return [classes.index(name) for name in wanted]

    kind_order, domain_order = ordered(kind_model, kinds), ordered(domain_model, domains)
    bias = [float(kind_model.intercept_[i]) for i in kind_order]
    bias += [float(domain_model.intercept_[i]) for i in domain_order]
    bias.append(float(danger_model.intercept_[0]))
    kind_coef, domain_coef, danger_coef = kind_model.coef_, domain_model.coef_, danger_model.coef_
    rows: dict[str, list[float]] = {}
    for position, feature in enumerate(vocabulary):
        row = [float(kind_coef[i, position]) for i in kind_order]
        row += [float(domain_coef[i, position]) for i in domain_order]
        row.append(float(danger_coef[0, position]))
        rows[feature] = row
    assert len(bias) == len(COLUMNS)
    return bias, rows


def train(
    classifier: RuleClassifier,
    corpora: Sequence[Path],
    settings: TrainSettings | None = None,
    *,
    user_dict: Path = DEFAULT_USER_DICT,
    colloquial: Path = DEFAULT_COLLOQUIAL_MAP,
) -> str:
    """The model file's text for ``corpora``, with features cut by ``classifier``'s tokenizer."""
    settings = settings or TrainSettings()
    counts = [len(read_corpus(path)) for path in corpora]
    examples = read_corpora(corpora)
    features = [classifier.features(example.text) for example in examples]
    bias, rows = fit(examples, features, settings)
    import jieba

    header = header_lines(
        corpora,
        counts,
        settings,
        fingerprint=classifier.fingerprint,
        tokenizer=f"jieba {jieba.__version__} HMM off",
        user_dict=user_dict,
        colloquial=colloquial,
        rules=classifier.ruleset.path,
    )
    return format_model(header, bias, rows)


def header_lines(
    corpora: Sequence[Path],
    counts: Sequence[int],
    settings: TrainSettings,
    *,
    fingerprint: str,
    tokenizer: str,
    user_dict: Path,
    colloquial: Path,
    rules: Path,
) -> list[tuple[str, ...]]:
    _sklearn()
    import sklearn

    lines: list[tuple[str, ...]] = [
        ("format", str(FORMAT_VERSION)),
        ("fingerprint", fingerprint),
        ("features", FEATURE_VERSION),
        ("tokenizer", tokenizer),
        ("userdict", display_path(user_dict), file_sha256(user_dict)),
        ("colloquial", display_path(colloquial), file_sha256(colloquial)),
        ("rules", display_path(rules), file_sha256(rules)),
    ]
    lines += [("corpus", display_path(p), file_sha256(p), str(n)) for p, n in zip(corpora, counts, strict=True)]
    lines += settings.as_header()
    lines.append(("setting", "trainer", f"scikit-learn {sklearn.__version__} lbfgs"))
    return lines
