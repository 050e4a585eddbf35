"""The learned layer's weights: a keyword table a person can read and diff, and its plain-Python reader.

The file (``config/model.tsv``, written by ``linli nlp train``) is tab-separated text:

    # comments
    format        1
    fingerprint   <hex>        tokenizer + dictionaries + feature extractor the weights were trained with
    features      features-1
    tokenizer     jieba 0.42.1
    userdict      PATH  SHA256
    colloquial    PATH  SHA256
    rules         PATH  SHA256  (rule words are kept whole by the tokenizer: retrain when they change)
    corpus        PATH  SHA256  LINES       one line per training corpus, in the order given
    setting       NAME  VALUE               training settings
    columns       noise trivial major 空间管理 … 其他 danger
    bias          one number per column
    rows          N
    FEATURE       one number per column     N lines, sorted by feature, weights rounded to 2 decimals

Columns 1-3 are the kind model's weights (softmax), 4-11 the service-area model's (softmax, trained on
requests only), the last the danger model's (logistic: urgent or check). A message's score for a column
is ``bias + sum(weights of its features) / sqrt(number of its features)``, each occurrence counted. Every problem is a
``ModelError("FILE:LINE: reason")``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jieba

from nlp.decision import Domain, Kind
from nlp.features import FEATURE_VERSION, QUESTION, display, token_features

FORMAT_VERSION = 1
KIND_COLUMNS = tuple(Kind)
DOMAIN_COLUMNS = tuple(Domain)
COLUMNS = (*(k.value for k in KIND_COLUMNS), *(d.value for d in DOMAIN_COLUMNS), "danger")
_KINDS = len(KIND_COLUMNS)
_DOMAINS = len(DOMAIN_COLUMNS)
_WIDTH = len(COLUMNS)
_HEADER_KEYS = ("format", "fingerprint", "features", "tokenizer", "userdict", "colloquial", "rules")


class ModelError(Exception):
    """A model file cannot be used. ``str()`` is ``FILE:LINE: reason``."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tokenizer_fingerprint(user_dict: Path, colloquial: Path) -> str:
    """What the features depend on besides the rules: jieba's version, the user dictionary, the
    colloquial map and the feature extractor. Weights trained under another fingerprint are refused."""
    digest = hashlib.sha256()
    for part in (str(FORMAT_VERSION), FEATURE_VERSION, str(jieba.__version__)):
        digest.update(part.encode() + b"\0")
    for path in (user_dict, colloquial):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


class Prediction(NamedTuple):
    """The model's view of one message."""

    kind: tuple[float, float, float]  # probabilities in KIND_COLUMNS order
    danger: float  # probability of urgent-or-check
    domain_scores: tuple[float, ...]  # the area model's scores in DOMAIN_COLUMNS order (see ``domain``)
    parts: tuple[tuple[str, tuple[float, ...]], ...]  # what was recognised (a token or a pair) and its weights

    @property
    def domain(self) -> tuple[float, ...]:
        """Probabilities in DOMAIN_COLUMNS order (computed on demand: chat rarely needs them)."""
        return _softmax(self.domain_scores)

    def strongest(self, column: int, count: int = 2) -> list[tuple[str, float]]:
        """The ``count`` parts that push ``column`` up most (weight > 0), strongest first."""
        best: dict[str, float] = {}
        for label, row in self.parts:
            weight = row[column]
            if weight > 0 and weight > best.get(label, 0.0):
                best[label] = weight
        if len(best) > 1:
            return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:count]
        return list(best.items())


def _softmax(scores: Sequence[float]) -> tuple[float, ...]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return tuple(e / total for e in exps)


_TOKEN_CACHE_LIMIT = 200_000  # distinct tokens remembered; past it the cache starts again


class LearnedModel:
    """The weights of one model file. Pure dictionary lookups; no numerical library at run time.

    A token's features never change, so their weights are summed once per token and remembered
    (:meth:`predict_tokens`); a message then costs one lookup per token and per pair across tokens."""

    def __init__(
        self,
        path: Path,
        header: dict[str, list[str]],
        corpora: list[list[str]],
        settings: dict[str, str],
        bias: tuple[float, ...],
        table: dict[str, tuple[float, ...]],
    ) -> None:
        self.path = path
        self.header = header
        self.corpora = corpora
        self.settings = settings
        self.bias = bias
        self._table = table
        # token -> (its summed weights or None when no feature of it is known, its number of features)
        self._tokens: dict[str, tuple[tuple[float, ...] | None, int]] = {}

    @property
    def fingerprint(self) -> str:
        return self.header["fingerprint"][0]

    @property
    def size(self) -> int:
        return len(self._table)

    def weights(self, feature: str) -> tuple[float, ...] | None:
        return self._table.get(feature)

    def predict(self, features: list[str]) -> Prediction:
        """The prediction for a bag of features (``nlp.features.extract``); each occurrence counts."""
        get = self._table.get
        parts = tuple((display(f), row) for f in features if (row := get(f)) is not None)
        return self._finish(parts, len(features))

    def predict_tokens(self, normalised: str, tokens: list[str]) -> Prediction:
        """The same as ``predict(extract(normalised, tokens))``, with each token's weights summed once."""
        cache = self._tokens
        get = self._table.get
        parts: list[tuple[str, tuple[float, ...]]] = []
        count = 0
        position = 0
        last = ""  # the previous token's last character when it is CJK and touches this token
        for token in tokens:
            entry = cache.get(token)
            if entry is None:
                entry = self._token_entry(token)
            row, n = entry
            count += n
            if row is not None:
                parts.append((token, row))
            # a pair across two tokens (see nlp.features.boundaries, which this inlines)
            if not normalised.startswith(token, position):
                found = normalised.find(token, position)
                position = found if found >= 0 else position
                last = ""
            first = token[0]
            if last and ("\u4e00" <= first <= "\u9fff" or "\u3400" <= first <= "\u4dbf"):
                count += 1
                pair = last + first
                row = get("c:" + pair)
                if row is not None:
                    parts.append((pair, row))
            position += len(token)
            end = token[-1]
            last = end if "\u4e00" <= end <= "\u9fff" or "\u3400" <= end <= "\u4dbf" else ""
        if "?" in normalised:
            count += 1
            row = get(QUESTION)
            if row is not None:
                parts.append(("?", row))
        return self._finish(tuple(parts), count)

    def _token_entry(self, token: str) -> tuple[tuple[float, ...] | None, int]:
        features = token_features(token)
        rows = [row for f in features if (row := self._table.get(f)) is not None]
        summed = tuple(map(sum, zip(*rows, strict=True))) if rows else None
        entry = (summed, len(features))
        if len(self._tokens) >= _TOKEN_CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[token] = entry
        return entry

    def _finish(self, parts: tuple[tuple[str, tuple[float, ...]], ...], count: int) -> Prediction:
        bias = self.bias
        if parts:
            scale = 1.0 / math.sqrt(count)
            sums = map(sum, zip(*(row for _, row in parts), strict=True))
            scores = [b + s * scale for b, s in zip(bias, sums, strict=True)]
        else:
            scores = list(bias)
        noise, trivial, major = scores[0], scores[1], scores[2]
        top = max(noise, trivial, major)
        noise, trivial, major = math.exp(noise - top), math.exp(trivial - top), math.exp(major - top)
        total = noise + trivial + major
        danger_score = scores[-1]
        danger = 1.0 / (1.0 + math.exp(-danger_score)) if danger_score > -30 else 0.0
        return Prediction(
            (noise / total, trivial / total, major / total), danger, tuple(scores[_KINDS : _KINDS + _DOMAINS]), parts
        )


def _number(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ModelError(f"{path}:{line}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ModelError(f"{path}:{line}: {text!r} is not a finite number")
    return value


def parse_model(text: str, path: Path, expected_fingerprint: str | None = None) -> LearnedModel:
    """Read a model file's text; check its format, columns, row count and (if given) fingerprint."""
    header: dict[str, list[str]] = {}
    corpora: list[list[str]] = []
    settings: dict[str, str] = {}
    bias: tuple[float, ...] | None = None
    table: dict[str, tuple[float, ...]] = {}
    declared_rows: int | None = None
    previous = ""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        key = fields[0]
        if declared_rows is not None:  # the weight rows
            if len(fields) != _WIDTH + 1:
                raise ModelError(f"{path}:{number}: expected a feature and {_WIDTH} weights, found {len(fields) - 1}")
            if key <= previous:
                raise ModelError(f"{path}:{number}: feature {key!r} is out of order or repeated")
            previous = key
            try:
                row = tuple(map(float, fields[1:]))
            except ValueError:
                row = ()
            if not row or not math.isfinite(sum(row)):  # the slow path names the bad value
                row = tuple(_number(value, path, number) for value in fields[1:])
            table[key] = row
            continue
        values = fields[1:]
        if key == "format":
            if values != [str(FORMAT_VERSION)]:
                raise ModelError(
                    f"{path}:{number}: format {'/'.join(values) or '?'} is not supported (supported: {FORMAT_VERSION})"
                )
        elif key == "corpus":
            corpora.append(values)
            continue
        elif key == "setting":
            if len(values) != 2:
                raise ModelError(f"{path}:{number}: a setting needs a name and a value")
            settings[values[0]] = values[1]
            continue
        elif key == "columns":
            if tuple(values) != COLUMNS:
                raise ModelError(f"{path}:{number}: columns do not match this version ({' '.join(COLUMNS)})")
        elif key == "bias":
            if len(values) != _WIDTH:
                raise ModelError(f"{path}:{number}: expected {_WIDTH} bias values, found {len(values)}")
            bias = tuple(_number(value, path, number) for value in values)
        elif key == "rows":
            missing = [name for name in (*_HEADER_KEYS, "columns") if name not in header]
            if missing:
                raise ModelError(f"{path}:{number}: the header lacks {', '.join(missing)}")
            if bias is None:
                raise ModelError(f"{path}:{number}: the header lacks bias")
            if len(values) != 1 or not values[0].isdigit():
                raise ModelError(f"{path}:{number}: rows needs a count")
            declared_rows = int(values[0])
        elif key not in _HEADER_KEYS:
            raise ModelError(f"{path}:{number}: unknown header line {key!r}")
        if key in header:
            raise ModelError(f"{path}:{number}: {key!r} appears twice")
        header[key] = values
    if declared_rows is None or bias is None:
        if "format" not in header:
            raise ModelError(f"{path}:1: not a linli model file (no format line)")
        raise ModelError(f"{path}:{len(lines)}: the file ends before its weights (no rows line)")
    if len(table) != declared_rows:
        raise ModelError(f"{path}:{len(lines)}: {len(table)} weight rows, the header says {declared_rows} (truncated?)")
    if header["features"] != [FEATURE_VERSION]:
        raise ModelError(
            f"{path}:0: trained with feature extractor {'/'.join(header['features'])}, this is {FEATURE_VERSION}"
        )
    fingerprint = header["fingerprint"][0] if header["fingerprint"] else ""
    if expected_fingerprint is not None and fingerprint != expected_fingerprint:
        raise ModelError(
            f"{path}:0: trained with another tokenizer or dictionary (fingerprint {fingerprint or '?'}, "
            f"this tokenizer is {expected_fingerprint}): retrain with `linli nlp train`"
        )
    return LearnedModel(path, header, corpora, settings, bias, table)


def load_model(path: Path, expected_fingerprint: str | None = None) -> LearnedModel:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{path}:0: the model file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}:0: cannot read the model file ({exc})") from exc
    return parse_model(text, path, expected_fingerprint)


def format_weight(value: float) -> str:
    """Two decimals, no trailing zeros, no negative zero: 1.7, -0.05, 0."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def build_model(bias: list[float], rows: dict[str, list[float]], path: Path) -> LearnedModel:
    """A model straight from fitted weights, rounded exactly as the file rounds them (cross-validation)."""
    table: dict[str, tuple[float, ...]] = {}
    for feature in sorted(rows):
        weights = tuple(float(format_weight(w)) for w in rows[feature])
        if any(weights):
            table[feature] = weights
    header = {"fingerprint": ["-"], "format": [str(FORMAT_VERSION)]}
    return LearnedModel(path, header, [], {}, tuple(float(format_weight(b)) for b in bias), table)


def format_model(
    header: list[tuple[str, ...]],
    bias: list[float],
    rows: dict[str, list[float]],
) -> str:
    """The file's text: header lines (key, values…), columns, bias, then the non-zero rows sorted."""
    out = [
        "# linli learned layer: feature -> weight per column (docs/classifier.md, 'The learned layer').",
        "# Written by `linli nlp train`; retrain rather than edit (a test retrains and compares the bytes).",
    ]
    out += ["\t".join(fields) for fields in header]
    out.append("\t".join(("columns", *COLUMNS)))
    out.append("\t".join(("bias", *(format_weight(b) for b in bias))))
    kept: list[str] = []
    for feature in sorted(rows):
        weights = [format_weight(w) for w in rows[feature]]
        if any(w != "0" for w in weights):
            kept.append("\t".join((feature, *weights)))
    out.append(f"rows\t{len(kept)}")
    out += kept
    return "\n".join(out) + "\n"
