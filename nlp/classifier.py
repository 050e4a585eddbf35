"""The rule classifier: normalise, segment with jieba, match keyword rules, weigh the votes.

How a decision is made (see docs/classifier.md for the long version):

1. The text is normalised (:mod:`nlp.normalise`) and cut into tokens by a private jieba tokenizer.
2. Every rule word is looked up on token boundaries, so ``火`` matches ``有火`` but never ``火锅``.
   A hit preceded by a negation (没有、不是、别…) within a few tokens, in the same clause, is dropped.
   ``near:`` words must occur within ``window`` tokens of the hit.
3. Signal rules (notice, ad, forward, resolved, recurrence, household, question…) add up per signal;
   a signal is on when its sum reaches ``signal_threshold``.
4. Kind rules vote for noise, trivial or major with their weight, subject to ``requires``/``unless``
   signals; household-scoped messages turn ``household:`` rules down (我家没水 is trivial, 整栋停水 major).
5. Notices, ads, forwards and resolved follow-ups damp the problem votes; recurrence escalates trivial
   to major; under a hypothetical (万一、隐患) the urgent danger words do not vote; told as a past event
   (昨晚、上个月, with nothing saying it is still happening) they vote major but not urgent.
6. The kind with the highest score wins, noise having a prior. Urgent = major with enough urgent votes.
   The domain is the weighted vote of the problem rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from nlp.blend import BlendSettings, RuleVerdict, blend
from nlp.decision import Decision, Domain, Kind
from nlp.features import extract
from nlp.model import LearnedModel, ModelError, load_model, tokenizer_fingerprint
from nlp.normalise import ColloquialMapError, Normaliser, read_colloquial_map, split_quoted_reply
from nlp.rules import Rule, RulesError, RuleSet, load_rules
from nlp.tokenise import Segmenter

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_COLLOQUIAL_MAP = CONFIG_DIR / "cantonese.txt"
DEFAULT_USER_DICT = CONFIG_DIR / "userdict.txt"
DEFAULT_MODEL = CONFIG_DIR / "model.tsv"

# Tokens that end a clause: negation and adjacency never cross them.
_CLAUSE_BREAKS = frozenset(",.!?;:~。、…，！？；：()（）【】[]\"'“”‘’ \n\t-/|")
_DAMPER_ORDER = ("notice", "ad", "forward", "poll", "resolved")
_DAMPERS = frozenset(_DAMPER_ORDER)
_ESCALATOR_ORDER = ("recurrence", "council")
_ESCALATORS = frozenset(_ESCALATOR_ORDER)
_PAST_SIGNALS = frozenset(("past", "chronic"))
# The pseudo-word a rule lists (in ``words`` or ``near``) to mean "an action that fails or a state that is
# missing", found from the structure of the phrase rather than from a list: 打不开, 扭不到, 冲不下去, 摇不上去,
# 按了没声, 调到最高都不热. A negation followed by a result or state morpheme, or a token built that way.
FAULT_WORD = "<故障>"
_FAULT_NEGATIONS = frozenset({"不", "没", "没有"})
# result complements and states whose absence is a fault (开 as in 打不开, 热 as in 不热, 声 as in 没声)
_FAULT_RESULTS = frozenset("开上下去来动郁到走通着出进入住起响亮热冷凉暖转稳严紧声停灵准掉清够畅干了")
_FAULT_RESULT_TOKENS = frozenset({"上去", "下去", "进去", "出来", "起来", "声音", "反应", "着火"})
# V不C compounds that are idioms, not faults
_FAULT_IDIOMS = frozenset(
    {
        "差不多",
        "对不起",
        "来不及",
        "了不起",
        "忍不住",
        "说不定",
        "怪不得",
        "舍不得",
        "巴不得",
        "恨不得",
        "看不起",
        "用不着",
        "犯不着",
        "顾不上",
        "比不上",
        "赶不上",
        "想不到",
        "想不开",
        "要不了",
        "少不了",
        "离不开",
        "睡不着",
    }
)
# degree adverbs a phrase may carry inside it: 胸口好痛 reads as 胸口痛, 水压很低 as 水压低
_DEGREE = frozenset({"好", "很", "太", "非常", "特别", "超", "挺", "真"})
_INNER_CACHE_LIMIT = 100_000  # distinct tokens whose inner rule words are remembered
# Enum member lookups are slow on Python 3.11; the hot path uses these.
_NOISE, _TRIVIAL, _MAJOR = Kind.NOISE, Kind.TRIVIAL, Kind.MAJOR


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything the classifier saw, for ``linli classify`` and debugging."""

    normalised: str
    tokens: tuple[str, ...]
    scores: dict[str, float]
    signals: dict[str, float]
    negated: tuple[str, ...]
    model: dict[str, float] | None = None  # the learned layer's probabilities, when it is loaded


class RuleClassifier:
    """Implements :class:`nlp.decision.Classifier`. Pure and deterministic after construction."""

    def __init__(
        self,
        ruleset: RuleSet,
        normaliser: Normaliser,
        segmenter: Segmenter,
        model: LearnedModel | None = None,
        blend_settings: BlendSettings | None = None,
        *,
        fingerprint: str = "",
        model_error: str | None = None,
    ) -> None:
        self.ruleset = ruleset
        self.model = model
        self.fingerprint = fingerprint
        """The tokenizer fingerprint a model file must carry (see nlp.model.tokenizer_fingerprint)."""
        self.model_error = model_error
        """Why the learned layer is not loaded (``FILE:LINE: reason``), or None."""
        self._blend = blend_settings or BlendSettings()
        self._normalise = normaliser
        self._segmenter = segmenter
        settings = ruleset.settings
        self._settings = settings
        self._damping = dict(settings.damping)
        self._negation = ruleset.negation
        self._vocab = ruleset.words
        self._max_word = max((len(w) for w in self._vocab), default=1)
        # every prefix of a vocabulary word: joining tokens stops as soon as it leaves this set
        self._prefixes = frozenset(word[:end] for word in self._vocab for end in range(1, len(word) + 1))
        # word -> the rules (in file order) that list it in ``words``
        by_word: dict[str, list[int]] = {}
        for position, rule in enumerate(ruleset.rules):
            for word in rule.words:
                by_word.setdefault(word, []).append(position)
        self._by_word = {word: tuple(positions) for word, positions in by_word.items()}
        self._near_sets = [frozenset(rule.near) for rule in ruleset.rules]
        # words of the voting rules: such a token is not searched for shorter rule words inside it
        self._whole = frozenset(word for rule in ruleset.rules if rule.signal is None for word in rule.words)
        self._inner: dict[str, tuple[str, ...]] = {}  # token -> rule words at its start or end

    @property
    def path(self) -> Path:
        return self.ruleset.path

    # --- public ------------------------------------------------------------------------
    def classify(self, text: str) -> Decision:
        try:
            return self._classify(text, explain=False)[0]
        except Exception:  # the contract is "never raises"; a bug must not stop the pipeline
            log.exception("classifier failed on a message of %d characters", len(text or ""))
            return Decision(Kind.NOISE, False, self._settings.default_domain, 0.0, ("@error",))

    @property
    def blend_settings(self) -> BlendSettings:
        return self._blend

    @property
    def degraded(self) -> bool:
        """True when a model file was asked for and refused: the rules decide alone."""
        return self.model_error is not None

    def features(self, text: str) -> list[str]:
        """The learned layer's features of ``text``, as classification computes them (training uses it)."""
        _, reply = split_quoted_reply(text)
        normalised = self._normalise(reply)
        return extract(normalised, self._segmenter.cut(normalised))

    def with_model(self, model: LearnedModel | None, blend_settings: BlendSettings | None = None) -> RuleClassifier:
        """The same rules, tokenizer and normaliser with another learned layer (or none)."""
        return RuleClassifier(
            self.ruleset,
            self._normalise,
            self._segmenter,
            model,
            blend_settings or self._blend,
            fingerprint=self.fingerprint,
        )

    def explain(self, text: str) -> tuple[Decision, Explanation]:
        decision, explanation = self._classify(text, explain=True)
        assert explanation is not None
        return decision, explanation

    # --- internals ---------------------------------------------------------------------
    def _occurrences(self, tokens: list[str]) -> dict[str, list[tuple[int, int]]]:
        """Each vocabulary word found on token boundaries -> [(first token, last token)].

        jieba's dictionary holds compounds such as 窗台上 or 打预防针 that swallow a rule word, so a
        word of two or more characters also matches at the start or end of a longer token.
        """
        found: dict[str, list[tuple[int, int]]] = {}
        vocab, prefixes, inner = self._vocab, self._prefixes, self._inner
        count = len(tokens)
        for start in range(count):
            token = tokens[start]
            if len(token) >= 3:
                words = inner.get(token)
                if words is None:
                    words = self._inner_words(token)
                for word in words:
                    found.setdefault(word, []).append((start, start))
            joined = ""
            for end in range(start, count):
                token = tokens[end]
                if joined and token in _DEGREE and joined[-1] not in "不没":
                    continue  # 胸口好痛 is 胸口痛
                joined += token
                if joined not in prefixes:
                    break
                if joined in vocab:
                    found.setdefault(joined, []).append((start, end))
        if FAULT_WORD in vocab:
            spans = _fault_spans(tokens)
            if spans:
                found.setdefault(FAULT_WORD, []).extend(spans)
        return found

    def _inner_words(self, token: str) -> tuple[str, ...]:
        """Rule words at the start or end of a longer token (remembered per token)."""
        words: list[str] = []
        size = len(token)
        # a token that is itself a voting rule's word means what that rule says: 打不着火 is not 着火
        if not token.isascii() and token not in self._whole:
            vocab = self._vocab
            for cut in range(2, min(size, self._max_word + 1)):
                head, tail = token[:cut], token[size - cut :]
                if head in vocab:
                    words.append(head)
                if tail in vocab and tail != head:
                    words.append(tail)
        if len(self._inner) >= _INNER_CACHE_LIMIT:
            self._inner.clear()
        self._inner[token] = found = tuple(words)
        return found

    def _negated(self, tokens: list[str], start: int) -> bool:
        scope = self._settings.negation_scope
        negation = self._negation
        for index in range(start - 1, max(start - 1 - scope, -1), -1):
            token = tokens[index]
            if token in _CLAUSE_BREAKS:
                return False
            if token in negation and not _a_not_a(tokens, index):
                return True
        return False

    def _near(
        self,
        rule: Rule,
        near: frozenset[str],
        found: dict[str, list[tuple[int, int]]],
        tokens: list[str],
        start: int,
        end: int,
    ) -> bool:
        window = rule.window
        for word, spans in found.items():
            if word in near:
                for near_start, near_end in spans:
                    close = near_start - end <= window and start - near_end <= window
                    if not close or (near_start, near_end) == (start, end):
                        continue
                    # 门没有坏: a negated companion word does not confirm the rule
                    if rule.negatable and self._negated(tokens, near_start):
                        continue
                    return True
        return False

    def _fires(
        self, position: int, words: list[str], tokens: list[str], found: dict[str, list[tuple[int, int]]]
    ) -> tuple[int, bool, int]:
        """(how many distinct words of the rule fired, whether one was seen but negated, the last
        token where one fired, or -1)."""
        rule = self.ruleset.rules[position]
        near = self._near_sets[position]
        negatable = rule.negatable
        spans: set[tuple[int, int]] = set()
        negated = False
        last = -1
        for word in words:
            for start, end in found[word]:
                if near and not self._near(rule, near, found, tokens, start, end):
                    continue
                if negatable and start and self._negated(tokens, start):
                    negated = True
                    continue
                spans.add((start, end))  # 好几年 and its tail 几年 on the same token count once
                if end > last:
                    last = end
                break
        return len(spans), negated and not spans, last

    def _classify(self, text: str, explain: bool) -> tuple[Decision, Explanation | None]:
        # A quoted reply is the writer's reply; the quoted message counts only when the reply agrees
        # with it (「三楼有煤气味?」 - 真的有, 好浓).
        quoted, reply = split_quoted_reply(text)
        decision, explanation, active = self._classify_text(reply, explain)
        if quoted and "confirm" in active:
            decision, explanation, _ = self._classify_text(f"{quoted}。{reply}", explain)
        return decision, explanation

    def _classify_text(self, text: str, explain: bool) -> tuple[Decision, Explanation | None, set[str]]:
        settings = self._settings
        normalised = self._normalise(text)
        tokens = self._segmenter.cut(normalised)
        found = self._occurrences(tokens)
        rules = self.ruleset.rules

        candidates: dict[int, list[str]] = {}
        by_word = self._by_word
        for word in found:
            for position in by_word.get(word, ()):
                candidates.setdefault(position, []).append(word)
        fired: list[Rule] = []
        negated: list[str] = []
        signal_sum: dict[str, float] = {}
        signal_last: dict[str, int] = {}
        for position in sorted(candidates) if len(candidates) > 1 else candidates:
            rule = rules[position]
            hits, was_negated, last = self._fires(position, candidates[position], tokens, found)
            if hits:
                fired.append(rule)
                if rule.signal is not None:  # cues add up word by word; votes count once per rule
                    signal_sum[rule.signal] = signal_sum.get(rule.signal, 0.0) + rule.weight * hits
                    signal_last[rule.signal] = max(signal_last.get(rule.signal, -1), last)
            elif was_negated:
                negated.append(rule.id)
        if "?" in normalised:
            signal_sum["question"] = signal_sum.get("question", 0.0) + settings.signal_threshold
        active = {name for name, total in signal_sum.items() if total >= settings.signal_threshold}
        if "relapse" in active:
            active.discard("resolved")  # 修好了又坏了
        if "present" in active:
            active.discard("past")  # 昨晚开始冒烟，现在还在冒
            active.discard("chronic")
        elif "recurrence" in active:
            active.add("chronic")
        if "question" in active:
            # 什么时候恢复? asks about the fix; 没水? 我这里正常 and 停电是跳闸了吗? 现在好了 ask, then
            # answer in a later clause: resolved stands when it follows the last question mark and no
            # question word does.
            marks = [index for index, token in enumerate(tokens) if "?" in token]
            answered = bool(marks) and signal_last.get("resolved", -1) > marks[-1] >= signal_last.get("question", -1)
            if not answered:
                active.discard("resolved")
            active.discard("notice")  # notices do not ask questions; polls do (their own signal)
        if "demand" in active:
            # a letter that demands action (恳请…查处, 责令…恢复原状) quotes 公示, 依法 and 恢复 in passing
            active.difference_update(("notice", "ad", "resolved"))

        scores = {_NOISE: 0.0, _TRIVIAL: 0.0, _MAJOR: 0.0}
        urgent_score = past_danger = 0.0
        votes: list[tuple[Kind, Domain, float]] = []
        reasons: list[str] = []
        if fired:
            single_home = "household" in active and "collective" not in active
            collective = "collective" in active
            hypothetical = "hypothetical" in active
            # told as past events, or reported again and again (a chronic hazard), and nothing says it is
            # happening now: the danger words ask for a fix, not an alarm
            past = not active.isdisjoint(_PAST_SIGNALS)
            # 大家好 … 谢谢大家 round a long report: the courtesy does not make it chat
            long_message = 0 < settings.long_message <= len(normalised)
            courtesy = settings.long_courtesy if long_message else 1.0
            for rule in fired:
                if rule.signal is not None:
                    reasons.append(rule.id)
                    continue
                if rule.requires and not active.issuperset(rule.requires):
                    continue
                if rule.unless and not active.isdisjoint(rule.unless):
                    continue
                assert rule.kind is not None
                if rule.urgent and hypothetical:
                    # "万一着火怎么跑": the danger words describe what might happen, not what is happening.
                    reasons.append(f"{rule.id}@hypothetical")
                    continue
                kind = rule.kind
                if rule.household is not None and single_home:
                    kind = rule.household
                    reasons.append(f"{rule.id}@household")
                elif rule.collective is not None and collective:
                    kind = rule.collective
                    reasons.append(f"{rule.id}@collective")
                else:
                    reasons.append(rule.id)
                weight = rule.weight
                scores[kind] += weight * courtesy if kind is _NOISE else weight
                if rule.domain is not None:
                    votes.append((kind, rule.domain, weight))
                if rule.urgent and kind is _MAJOR:
                    if past:  # 昨晚有人往下扔瓶子; 针筒丢得到处都是，讲咗几次都冇人理
                        reasons[-1] += "@past"
                        past_danger += weight
                    else:
                        urgent_score += weight

        if not active.isdisjoint(_DAMPERS):
            factor = 1.0
            for name in _DAMPER_ORDER:
                if name in active and name in self._damping:
                    factor = min(factor, self._damping[name])
                    scores[_NOISE] += signal_sum[name]
            if factor < 1.0:
                scores[_TRIVIAL] *= factor
                scores[_MAJOR] *= factor
                urgent_score *= factor
                reasons.append("@damped")
        if not active.isdisjoint(_ESCALATORS):
            for escalator in _ESCALATOR_ORDER:
                # reported again and again, or put to the residents' council: a major issue
                if escalator in active and scores[_TRIVIAL] + scores[_MAJOR] > 0:
                    scores[_MAJOR] += scores[_TRIVIAL] + settings.recurrence_bonus
                    scores[_TRIVIAL] = 0.0
                    reasons.append(f"@{escalator}")
                    break

        noise_total = scores[_NOISE] + settings.noise_prior
        problem = scores[_TRIVIAL] + scores[_MAJOR]
        if not tokens:
            kind, reasons = _NOISE, ["@empty"]
        elif problem <= noise_total:
            kind = _NOISE
        elif scores[_MAJOR] >= scores[_TRIVIAL]:
            kind = _MAJOR
        else:
            kind = _TRIVIAL
        urgent = kind is _MAJOR and urgent_score >= settings.urgent_threshold

        model = self.model if tokens else None
        tally: dict[Domain, float] = {}
        for vote_kind, domain, weight in votes:
            if (kind is _NOISE and model is None) or vote_kind is not _NOISE:
                tally[domain] = tally.get(domain, 0.0) + weight * (2.0 if vote_kind is kind else 1.0)

        prediction = None
        if model is not None:
            verdict = RuleVerdict(
                kind,
                urgent,
                urgent_score,
                (noise_total, scores[_TRIVIAL], scores[_MAJOR]),
                bool(votes) or scores[_NOISE] > 0,
                tally,
                active,
                reasons,
                len(normalised),
                past_danger,
            )
            prediction = model.predict_tokens(normalised, tokens)
            decision = blend(verdict, prediction, self._blend)
        else:
            domain = settings.default_domain
            if tally:
                domain = max(tally.items(), key=lambda item: item[1])[0]
            total = noise_total + problem
            winner = noise_total if kind is _NOISE else scores[kind]
            confidence = winner / total if total > 0 else 1.0
            decision = Decision(kind, urgent, domain, min(max(confidence, 0.0), 1.0), tuple(reasons))
        if not explain:
            return decision, None, active
        explanation = Explanation(
            normalised=normalised,
            tokens=tuple(tokens),
            scores={k.value: round(v, 3) for k, v in scores.items()} | {"urgent": round(urgent_score, 3)},
            signals={name: round(total, 3) for name, total in sorted(signal_sum.items())},
            negated=tuple(negated),
            model=None
            if prediction is None
            else {k.value: round(p, 3) for k, p in zip(Kind, prediction.kind, strict=True)}
            | {"danger": round(prediction.danger, 3)},
        )
        return decision, explanation, active


def _fault_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """Where an action fails or a state is missing, by structure: V不C (打不开, 冲不下去), 不/没 + a result
    or state (摇 不 上去, 都 不 热, 没 声). Each span is (first token, last token)."""
    spans: list[tuple[int, int]] = []
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        size = len(token)
        if token in _FAULT_NEGATIONS:
            if 0 < index < last:
                after = tokens[index + 1]
                if (after in _FAULT_RESULT_TOKENS or (len(after) == 1 and after in _FAULT_RESULTS)) and not _a_not_a(
                    tokens, index
                ):
                    spans.append((index, index + 1))
        elif size == 2 and token[0] in "不没" and token[1] in _FAULT_RESULTS:
            if index > 0 and tokens[index - 1] not in _CLAUSE_BREAKS:  # 打 不了, 扭 不到, 都 不动
                spans.append((index, index))
        elif (
            3 <= size <= 4
            and token[1] in "不没"
            and token[2] in _FAULT_RESULTS
            and token[0] != token[2]
            and token not in _FAULT_IDIOMS
            and token[0] not in "不没是也都就还又"
        ):
            spans.append((index, index))
    return spans


def _a_not_a(tokens: list[str], index: int) -> bool:
    """要不要, 有没有, 是不是, 好不好: the negation at ``index`` only asks a question."""
    token = tokens[index]
    if index == 0 or token[0] not in "不没":
        return False
    before = tokens[index - 1]
    if len(token) > 1:
        return before == token[1:]
    return index + 1 < len(tokens) and tokens[index + 1] == before


def load_classifier(
    rules_file: Path,
    cache_dir: Path,
    *,
    colloquial_file: Path = DEFAULT_COLLOQUIAL_MAP,
    user_dict: Path = DEFAULT_USER_DICT,
    max_chars: int | None = None,
    model_file: Path | None = None,
    blend_settings: BlendSettings | None = None,
) -> RuleClassifier:
    """Build a classifier from ``rules_file``; raise :class:`RulesError` (``FILE:LINE: reason``) if broken.

    With ``model_file`` the learned layer is loaded beside the rules. A missing, corrupt or mismatched
    model file does not raise: the classifier runs on the rules alone and says why in ``model_error``
    (``degraded`` is true).

    Safe to call again on reload: everything is built fresh (a private jieba tokenizer included) and
    nothing shared is touched until the new classifier is returned, so a refused file leaves the
    running classifier as it was.
    """
    try:
        colloquial = read_colloquial_map(colloquial_file)
    except ColloquialMapError as exc:
        raise RulesError(str(exc)) from exc
    # Rule words are normalised with a throwaway limit; the real one comes from the rules' settings.
    probe = Normaliser(colloquial, max_chars=1_000)
    ruleset = load_rules(rules_file, probe)
    limit = max_chars if max_chars is not None else ruleset.settings.max_chars
    normaliser = Normaliser(colloquial, max_chars=limit)
    if not user_dict.is_file():
        raise RulesError(f"{user_dict}:0: the jieba user dictionary is missing")
    try:
        segmenter = Segmenter(cache_dir, user_dict, sorted(ruleset.words))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise RulesError(f"{user_dict}:0: cannot load the jieba user dictionary ({exc})") from exc
    fingerprint = tokenizer_fingerprint(user_dict, colloquial_file)
    model: LearnedModel | None = None
    model_error: str | None = None
    if model_file is not None:
        try:
            model = load_model(model_file, fingerprint)
        except ModelError as exc:
            model_error = str(exc)
            log.error("learned layer not loaded, classifying with the rules alone: %s", exc)
    log.info(
        "classifier loaded: %d rules from %s%s",
        len(ruleset.rules),
        rules_file,
        f", learned layer {model_file} ({model.size} features)" if model is not None else "",
    )
    return RuleClassifier(
        ruleset,
        normaliser,
        segmenter,
        model,
        blend_settings,
        fingerprint=fingerprint,
        model_error=model_error,
    )
