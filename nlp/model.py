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
from nlp.features import FEATURE_VERSION, QUESTION, display, is_han, token_features

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
    # what was recognised (a token or a pair) and its kind weights (KIND_COLUMNS order) and danger weight
    parts: tuple[tuple[str, tuple[float, ...]], ...]
    areas: tuple[tuple[float, ...], ...]  # the same parts' area weights (DOMAIN_COLUMNS order)
    scale: float  # 1 / sqrt(number of features)
    area_bias: tuple[float, ...]

    @property
    def domain_scores(self) -> tuple[float, ...]:
        """The area model's scores in DOMAIN_COLUMNS order (summed on demand: chat rarely needs them)."""
        if not self.areas:
            return self.area_bias
        scale = self.scale
        sums = map(sum, zip(*self.areas, strict=True))
        return tuple(b + s * scale for b, s in zip(self.area_bias, sums, strict=True))

    @property
    def domain(self) -> tuple[float, ...]:
        """Probabilities in DOMAIN_COLUMNS order."""
        return softmax(self.domain_scores)

    def strongest(self, column: int, count: int = 2) -> list[tuple[str, float]]:
        """The ``count`` parts that push kind ``column`` up most (weight > 0), strongest first (ties by
        label), each label once."""
        ranked: list[tuple[float, str]] = []  # (-weight, label), at most ``count``, best first
        for label, row in self.parts:
            weight = row[column]
            if weight <= 0:
                continue
            key = (-weight, label)
            if len(ranked) == count and key >= ranked[-1]:
                continue
            for place, (_, seen) in enumerate(ranked):
                if seen == label:  # the same token twice: keep its better place
                    if key < ranked[place]:
                        ranked[place] = key
                        ranked.sort()
                    break
            else:
                ranked.append(key)
                ranked.sort()
                del ranked[count:]
        return [(label, -weight) for weight, label in ranked]


def softmax(scores: Sequence[float]) -> tuple[float, ...]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return tuple(e / total for e in exps)


_TOKEN_CACHE_LIMIT = 200_000  # distinct tokens remembered; past it the cache starts again
# a token's summed kind-and-danger weights (None when no feature of it is known) and area weights, its number of
# features, its first and last characters when they are CJK (else ""), for the pairs across tokens, and its
# weights with each pair met so far
_TokenEntry = tuple[
    tuple[float, ...] | None,
    tuple[float, ...],
    int,
    str,
    str,
    # the same summed with a pair, by the character before, and whether the pair is known
    dict[str, tuple[tuple[float, ...] | None, tuple[float, ...], int]],
]
_PAIRS_PER_TOKEN = 512


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
        self._tokens: dict[str, _TokenEntry] = {}
        # the same weights split for prediction: kinds and danger (always needed), areas (summed on demand)
        self._split = {feature: _split(row) for feature, row in table.items()}
        self._core_bias = _split(bias)[0]
        self._area_bias = _split(bias)[1]

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
        get = self._split.get
        parts = []
        areas = []
        for feature in features:
            split = get(feature)
            if split is not None:
                parts.append((display(feature), split[0]))
                areas.append(split[1])
        return self._finish(tuple(parts), tuple(areas), len(parts))

    def predict_tokens(self, normalised: str, tokens: list[str]) -> Prediction:
        """The same as ``predict(extract(normalised, tokens))``, with each token's weights summed once (and
        once more with the pair of characters that joins it to the token before)."""
        cache = self._tokens
        parts: list[tuple[str, tuple[float, ...]]] = []
        areas: list[tuple[float, ...]] = []
        count = 0
        spaced = " " in normalised  # only a space can come between two tokens (see nlp.features.boundaries)
        position = 0
        last = ""  # the previous token's last character when it is CJK and touches this token
        for token in tokens:
            entry = cache.get(token)
            if entry is None:
                entry = self._token_entry(token)
            core, area, n, first, end, joined = entry
            count += n
            if spaced:
                if not normalised.startswith(token, position):
                    found = normalised.find(token, position)
                    position = found if found >= 0 else position
                    last = ""
                position += len(token)
            if last and first:
                with_pair = joined.get(last)
                if with_pair is None:
                    with_pair = self._join(entry, last)
                core, area, known_pair = with_pair
                count += known_pair
            if core is not None:
                parts.append((token, core))
                areas.append(area)
            last = end
        if "?" in normalised:
            split = self._split.get(QUESTION)
            if split is not None:
                count += 1
                parts.append(("?", split[0]))
                areas.append(split[1])
        return self._finish(tuple(parts), tuple(areas), count)

    def _token_entry(self, token: str) -> _TokenEntry:
        rows = [row for f in token_features(token) if (row := self._table.get(f)) is not None]
        first = token[0] if is_han(token[0]) else ""
        end = token[-1] if is_han(token[-1]) else ""
        core: tuple[float, ...] | None = None
        area: tuple[float, ...] = ()
        if rows:
            core, area = _split(tuple(map(sum, zip(*rows, strict=True))))
        entry: _TokenEntry = (core, area, len(rows), first, end, {})
        if len(self._tokens) >= _TOKEN_CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[token] = entry
        return entry

    def _join(self, entry: _TokenEntry, last: str) -> tuple[tuple[float, ...] | None, tuple[float, ...], int]:
        """A token's weights plus those of the pair its first character makes with ``last``."""
        core, area, _, first, _, joined = entry
        pair = self._split.get("c:" + last + first)
        if pair is not None:
            if core is None:
                core, area = pair
            else:
                core = tuple(a + b for a, b in zip(core, pair[0], strict=True))
                area = tuple(a + b for a, b in zip(area, pair[1], strict=True))
        if len(joined) >= _PAIRS_PER_TOKEN:
            joined.clear()
        joined[last] = result = (core, area, int(pair is not None))
        return result

    def _finish(
        self, parts: tuple[tuple[str, tuple[float, ...]], ...], areas: tuple[tuple[float, ...], ...], count: int
    ) -> Prediction:
        noise, trivial, major, danger_score = self._core_bias
        scale = 0.0
        if parts:
            scale = 1.0 / math.sqrt(count)
            sum_noise, sum_trivial, sum_major, sum_danger = map(sum, zip(*(row for _, row in parts), strict=True))
            noise += sum_noise * scale
            trivial += sum_trivial * scale
            major += sum_major * scale
            danger_score += sum_danger * scale
        top = max(noise, trivial, major)
        noise, trivial, major = math.exp(noise - top), math.exp(trivial - top), math.exp(major - top)
        total = noise + trivial + major
        danger = 1.0 / (1.0 + math.exp(-danger_score)) if danger_score > -30 else 0.0
        return Prediction((noise / total, trivial / total, major / total), danger, parts, areas, scale, self._area_bias)


def _split(row: tuple[float, ...]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A row in file order (kinds, areas, danger) as (kinds and danger, areas)."""
    return (*row[:_KINDS], row[-1]), row[_KINDS : _KINDS + _DOMAINS]


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
        table[feature] = tuple(float(format_weight(w)) for w in rows[feature])
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
    for feature in sorted(rows):  # every feature, even one whose weights round to 0: it counts in the scale
        kept.append("\t".join((feature, *(format_weight(w) for w in rows[feature]))))
    out.append(f"rows\t{len(kept)}")
    out += kept
    return "\n".join(out) + "\n"
