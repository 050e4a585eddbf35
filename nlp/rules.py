"""The keyword rules: a versioned YAML file, read and checked into immutable objects.

Every problem is reported as ``RulesError("FILE:LINE: reason")`` so an operator can fix the file; a
file that fails to load never replaces rules already running.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from nlp.decision import Domain, Kind

SUPPORTED_VERSIONS = frozenset({1})

# Message-level cues the classifier understands; rules with ``signal:`` feed them.
SIGNALS = frozenset(
    {
        "notice",  # posted by the property company or committee: 通知, 温馨提示, 届时
        "ad",  # advertising: 专业疏通, 价格优惠, 加微信
        "forward",  # forwarded article or video: 转发, 分享, 公众号
        "confirm",  # a reply that agrees with the message it quotes: 我家也是, 真的有
        "poll",  # a vote or sign-up put to the group: 投票:, 回1 (asks questions, still not a report)
        "resolved",  # the problem is over: 修好了, 来电了, 搞定了, 误报
        "relapse",  # ...but it came back: 又坏了, 还是不行
        "recurrence",  # reported again and again without result: 反映了多次, 三个月了
        "council",  # asks the residents to decide together: 议事会, 开会商量, 大家表决
        "household",  # about one home: 我家, 家里
        "collective",  # about a whole building or estate: 整栋, 全小区, 大家都
        "question",  # asks for an answer: 请问, 怎么, 在哪, ?
        "hypothetical",  # not happening now: 万一, 如果, 隐患, 迟早
        "demand",  # a written request that names what must be done: 恳请, 责令, 依法查处
        "past",  # told as a past event, not happening now: 昨晚, 上个月, 前年, 那次
        "present",  # ...but it is happening now: 现在, 还在, 刚才 (cancels past)
        "chronic",  # set by the classifier, not by rules: recurrence without a present cue
    }
)

RULE_KEYS = frozenset(
    {
        "id",
        "words",
        "kind",
        "signal",
        "weight",
        "domain",
        "urgent",
        "near",
        "window",
        "requires",
        "unless",
        "negatable",
        "household",
        "collective",
        "note",
    }
)
SETTING_KEYS = frozenset(
    {
        "max_chars",
        "window",
        "negation_scope",
        "signal_threshold",
        "noise_prior",
        "urgent_threshold",
        "recurrence_bonus",
        "damping",
        "default_domain",
        "long_message",
        "long_courtesy",
    }
)
TOP_KEYS = frozenset({"version", "settings", "negation", "rules"})


class RulesError(Exception):
    """A rules file cannot be used. ``str()`` is ``FILE:LINE: reason``."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    words: tuple[str, ...]
    kind: Kind | None
    signal: str | None
    weight: float
    domain: Domain | None
    urgent: bool
    near: tuple[str, ...]
    window: int
    requires: tuple[str, ...]
    unless: tuple[str, ...]
    negatable: bool
    household: Kind | None
    collective: Kind | None
    line: int


@dataclass(frozen=True, slots=True)
class RuleSettings:
    max_chars: int = 2000
    window: int = 8
    negation_scope: int = 3
    signal_threshold: float = 1.0
    noise_prior: float = 0.6
    urgent_threshold: float = 1.0
    recurrence_bonus: float = 1.0
    damping: tuple[tuple[str, float], ...] = ()
    default_domain: Domain = Domain.OTHER
    # in a message of at least ``long_message`` characters, noise votes count ``long_courtesy`` times:
    # 大家好 … 谢谢大家 wrapped round a report does not make it chat (0 = off)
    long_message: int = 0
    long_courtesy: float = 1.0


# settings key -> (whole number?, lowest, highest)
SCALAR_SETTINGS: dict[str, tuple[bool, float, float]] = {
    "max_chars": (True, 1, 1_000_000),
    "window": (True, 1, 100),
    "negation_scope": (True, 0, 20),
    "signal_threshold": (False, 0.0, 100.0),
    "noise_prior": (False, 0.0, 100.0),
    "urgent_threshold": (False, 0.0, 100.0),
    "recurrence_bonus": (False, 0.0, 100.0),
    "long_message": (True, 0, 1_000_000),
    "long_courtesy": (False, 0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class RuleSet:
    path: Path
    version: int
    settings: RuleSettings
    negation: frozenset[str]
    rules: tuple[Rule, ...]
    words: frozenset[str] = field(default=frozenset())


Normalise = Callable[[str], str]


def load_rules(path: Path, normalise: Normalise) -> RuleSet:
    """Read and check ``path``; words are passed through ``normalise`` so rules match normalised text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}:0: cannot read the rules file ({exc})") from exc
    return parse_rules(text, path, normalise)


# libyaml's parser when PyYAML was built with it (the wheels are): the rules load several times faster
_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_rules(text: str, path: Path, normalise: Normalise) -> RuleSet:
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise RulesError(f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from exc
    finally:
        loader.dispose()
    return _Reader(path, loader, normalise).read(root)


class _Reader:
    def __init__(self, path: Path, loader: yaml.SafeLoader | yaml.CSafeLoader, normalise: Normalise) -> None:
        self.path = path
        self.loader = loader
        self.normalise = normalise

    def error(self, node: yaml.Node | None, reason: str) -> RulesError:
        line = node.start_mark.line + 1 if node is not None else 0
        return RulesError(f"{self.path}:{line}: {reason}")

    # --- node helpers ------------------------------------------------------------------
    def mapping(self, node: yaml.Node, what: str, allowed: frozenset[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, f"{what}: keys must be plain words")
            key = str(key_node.value)
            if key in out:
                raise self.error(key_node, f"{what}: key {key!r} appears twice")
            if key not in allowed:
                raise self.error(key_node, f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
            out[key] = value_node
        return out

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, "expected a single value")
        return self.loader.construct_object(node)

    def string(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node)
        if not isinstance(value, str) or not value.strip():
            raise self.error(node, f"{what} must be a non-empty string")
        return value.strip()

    def number(self, node: yaml.Node, what: str, low: float, high: float) -> float:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, f"{what} must be a number")
        if not low <= float(value) <= high:
            raise self.error(node, f"{what} must be between {low} and {high}, not {value}")
        return float(value)

    def integer(self, node: yaml.Node, what: str, low: int, high: int) -> int:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, f"{what} must be a whole number")
        if not low <= value <= high:
            raise self.error(node, f"{what} must be between {low} and {high}, not {value}")
        return int(value)

    def boolean(self, node: yaml.Node, what: str) -> bool:
        value = self.scalar(node)
        if not isinstance(value, bool):
            raise self.error(node, f"{what} must be true or false")
        return value

    def strings(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node]]:
        items: Sequence[yaml.Node] = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not items:
            raise self.error(node, f"{what} must not be empty")
        out = []
        for item in items:
            value = self.scalar(item)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)  # numbers such as 120 and 119 are words too
            if not isinstance(value, str) or not value.strip():
                raise self.error(item, f"{what}: each entry must be a non-empty string")
            out.append((value.strip(), item))
        return out

    def words(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        out: list[str] = []
        for raw, item in self.strings(node, what):
            word = self.normalise(raw).replace(" ", "")
            if not word:
                raise self.error(item, f"{what}: {raw!r} is empty after normalisation")
            if len(word) > 12:
                raise self.error(item, f"{what}: {raw!r} is longer than 12 characters; use near: instead")
            if word not in out:
                out.append(word)
        return tuple(out)

    # --- document ----------------------------------------------------------------------
    def read(self, root: yaml.Node | None) -> RuleSet:
        if root is None:
            raise RulesError(f"{self.path}:1: the rules file is empty")
        top = self.mapping(root, "the top level", TOP_KEYS)
        if "version" not in top:
            raise self.error(root, "missing 'version'")
        version = self.integer(top["version"], "version", 0, 1_000)
        if version not in SUPPORTED_VERSIONS:
            raise self.error(top["version"], f"version {version} is not supported (supported: 1)")
        settings = self.settings(top["settings"]) if "settings" in top else RuleSettings()
        negation = frozenset(self.words(top["negation"], "negation")) if "negation" in top else frozenset()
        if "rules" not in top:
            raise self.error(root, "missing 'rules'")
        rules_node = top["rules"]
        if not isinstance(rules_node, yaml.SequenceNode) or not rules_node.value:
            raise self.error(rules_node, "'rules' must be a non-empty list")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for item in rules_node.value:
            rule = self.rule(item, settings)
            if rule.id in seen:
                raise self.error(item, f"rule id {rule.id!r} is already used on line {seen[rule.id]}")
            seen[rule.id] = rule.line
            rules.append(rule)
        words = {w for rule in rules for w in (*rule.words, *rule.near)} | set(negation)
        return RuleSet(self.path, version, settings, negation, tuple(rules), frozenset(words))

    def settings(self, node: yaml.Node) -> RuleSettings:
        values = self.mapping(node, "settings", SETTING_KEYS)
        defaults = RuleSettings()
        damping: list[tuple[str, float]] = []
        if "damping" in values:
            for name, value in self.mapping(values["damping"], "settings.damping", SIGNALS).items():
                damping.append((name, self.number(value, f"damping.{name}", 0.0, 1.0)))
        domain = defaults.default_domain
        if "default_domain" in values:
            domain = self.domain(values["default_domain"])
        scalars: dict[str, Any] = {}
        for key, (whole, low, high) in SCALAR_SETTINGS.items():
            if key in values:
                node = values[key]
                if whole:
                    scalars[key] = self.integer(node, key, int(low), int(high))
                else:
                    scalars[key] = self.number(node, key, low, high)
        return replace(defaults, damping=tuple(damping), default_domain=domain, **scalars)

    def domain(self, node: yaml.Node) -> Domain:
        value = self.string(node, "domain")
        try:
            return Domain(value)
        except ValueError:
            names = "、".join(d.value for d in Domain)
            raise self.error(node, f"unknown domain {value!r} (one of {names})") from None

    def kind(self, node: yaml.Node, what: str) -> Kind:
        value = self.string(node, what)
        try:
            return Kind(value)
        except ValueError:
            raise self.error(node, f"{what} must be noise, trivial or major, not {value!r}") from None

    def signal_names(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        names = []
        for name, item in self.strings(node, what):
            if name not in SIGNALS:
                raise self.error(item, f"{what}: unknown signal {name!r} (one of {', '.join(sorted(SIGNALS))})")
            names.append(name)
        return tuple(names)

    def rule(self, node: yaml.Node, settings: RuleSettings) -> Rule:
        values = self.mapping(node, "a rule", RULE_KEYS)
        line = node.start_mark.line + 1
        if "id" not in values:
            raise self.error(node, "a rule needs an 'id'")
        rule_id = self.string(values["id"], "id")
        where = f"rule {rule_id!r}"
        if "words" not in values:
            raise self.error(node, f"{where} needs 'words'")
        words = self.words(values["words"], f"{where}: words")
        has_kind, has_signal = "kind" in values, "signal" in values
        if has_kind == has_signal:
            raise self.error(node, f"{where} needs exactly one of 'kind' or 'signal'")
        kind = self.kind(values["kind"], f"{where}: kind") if has_kind else None
        signal = None
        if has_signal:
            signal = self.string(values["signal"], f"{where}: signal")
            if signal not in SIGNALS:
                raise self.error(values["signal"], f"{where}: unknown signal {signal!r}")
            for key in ("domain", "urgent", "household", "collective", "requires", "unless"):
                if key in values:
                    raise self.error(values[key], f"{where}: a signal rule cannot have {key!r}")
        domain = self.domain(values["domain"]) if "domain" in values else None
        if kind in (Kind.TRIVIAL, Kind.MAJOR) and domain is None:
            raise self.error(node, f"{where}: a {kind} rule needs a domain")
        urgent = self.boolean(values["urgent"], f"{where}: urgent") if "urgent" in values else False
        if urgent and kind is not Kind.MAJOR:
            raise self.error(values["urgent"], f"{where}: only a major rule can be urgent")
        household = self.kind(values["household"], f"{where}: household") if "household" in values else None
        collective = self.kind(values["collective"], f"{where}: collective") if "collective" in values else None
        for key, scoped in (("household", household), ("collective", collective)):
            if scoped is not None and (kind is None or kind is Kind.NOISE or scoped is Kind.NOISE):
                raise self.error(values[key], f"{where}: {key} can only switch between trivial and major")
        return Rule(
            id=rule_id,
            words=words,
            kind=kind,
            signal=signal,
            weight=self.number(values["weight"], f"{where}: weight", 0.0, 100.0) if "weight" in values else 1.0,
            domain=domain,
            urgent=urgent,
            near=self.words(values["near"], f"{where}: near") if "near" in values else (),
            window=self.integer(values["window"], f"{where}: window", 1, 100)
            if "window" in values
            else settings.window,
            requires=self.signal_names(values["requires"], f"{where}: requires") if "requires" in values else (),
            unless=self.signal_names(values["unless"], f"{where}: unless") if "unless" in values else (),
            negatable=self.boolean(values["negatable"], f"{where}: negatable")
            if "negatable" in values
            else signal not in {"question", "household", "collective"},
            household=household,
            collective=collective,
            line=line,
        )
