"""The learned layer: its file is what the corpora train, it is read strictly, and a bad file degrades to the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.classifier import DEFAULT_MODEL, RuleClassifier, load_classifier
from nlp.decision import Domain, Kind
from nlp.evaluation import read_corpus
from nlp.model import ModelError, load_model, parse_model
from nlp.train import train

from .conftest import DATA, RULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped_text() -> str:
    return DEFAULT_MODEL.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def learned(cache_dir: Path) -> RuleClassifier:
    return load_classifier(RULES, cache_dir, model_file=DEFAULT_MODEL)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def assert_same_model(trained: str, shipped: str) -> None:
    """Every line the same but for weights one rounding step apart: the solver's floating point follows the
    CPU's BLAS kernels (an AMD and an Intel machine may round a weight of 0.015 apart), nothing else does."""
    trained_lines, shipped_lines = trained.splitlines(), shipped.splitlines()
    assert len(trained_lines) == len(shipped_lines)
    for new, old in zip(trained_lines, shipped_lines, strict=True):
        if new == old:
            continue
        new_fields, old_fields = new.split("\t"), old.split("\t")
        assert new_fields[0] == old_fields[0], (new, old)
        assert len(new_fields) == len(old_fields), (new, old)
        for a, b in zip(new_fields[1:], old_fields[1:], strict=True):
            assert _is_number(a), (new, old)
            assert _is_number(b), (new, old)
            assert abs(float(a) - float(b)) <= 0.0101, (new, old)


def test_the_comparison_allows_a_rounding_step_and_nothing_more() -> None:
    shipped = "format\t1\nbias\t1.93\t0.37\nc:三下\t0.01\t0.16\n"
    assert_same_model(shipped.replace("0.01\t", "0.02\t"), shipped)
    for edited in (shipped.replace("0.01\t", "0.03\t"), shipped.replace("三下", "三上"), shipped.replace("1\n", "2\n")):
        with pytest.raises(AssertionError):
            assert_same_model(edited, shipped)


def test_shipped_model_is_what_its_corpora_train(classifier: RuleClassifier, shipped_text: str) -> None:
    """Retrain from the corpora the header lists: the same model, so nobody edits it by hand or forgets to
    retrain (byte for byte on the machine that trained it; elsewhere a weight may round one step apart)."""
    model = parse_model(shipped_text, DEFAULT_MODEL)
    corpora = [ROOT / fields[0] for fields in model.corpora]
    assert corpora, "the model lists its corpora"
    assert all(path.is_file() for path in corpora)
    assert DATA / "test.jsonl" not in corpora, "the held-out split never trains"
    assert not any("blind" in path.name or "public-complaints" in path.name for path in corpora)
    assert_same_model(train(classifier, corpora), shipped_text)


def test_shipped_model_header_records_what_it_was_trained_with(shipped_text: str, classifier: RuleClassifier) -> None:
    model = parse_model(shipped_text, DEFAULT_MODEL, classifier.fingerprint)
    assert model.header["format"] == ["1"]
    assert model.header["userdict"][0] == "config/userdict.txt"
    for fields in model.corpora:
        _path, digest, lines = fields
        assert len(digest) == 64
        assert int(lines) > 0
    assert {"c_kind", "c_domain", "c_danger", "min_count", "trainer"} <= set(model.settings)
    rows = [line.split("\t")[0] for line in shipped_text.split("rows\t", 1)[1].splitlines()[1:]]
    assert rows == sorted(rows)


def test_learned_layer_explains_itself(learned: RuleClassifier) -> None:
    decision = learned.classify("楼上卫生间渗水，我家天花板都湿了")
    assert decision.kind is not Kind.NOISE
    assert any(reason.startswith("model:") and "+" in reason for reason in decision.rules)


@pytest.mark.parametrize(
    "title",
    ["某小区噪音扰民严重", "关于XX小区物业管理混乱的投诉", "小区化粪池满溢无人处理", "举报小区业主违章搭建"],
)
def test_short_complaint_titles_are_requests(learned: RuleClassifier, title: str) -> None:
    assert learned.classify(title).kind is not Kind.NOISE


@pytest.mark.parametrize(
    "text",
    ["隔壁屋成晚有人打交，好似有人喊救命", "对门阿婆三日冇开门，叫佢都唔应", "有个陌生男人一直跟住细路仔"],
)
def test_possible_danger_to_a_person_raises_an_alarm(learned: RuleClassifier, text: str) -> None:
    decision = learned.classify(text)
    assert decision.urgent or decision.check, decision
    assert not (decision.urgent and decision.check)


def test_rules_still_force_calm_follow_ups(learned: RuleClassifier) -> None:
    decision = learned.classify("电梯已经修好了，谢谢物业")
    assert decision.kind is Kind.NOISE
    assert not decision.urgent
    assert not decision.check


def test_rules_danger_words_are_never_quiet(learned: RuleClassifier) -> None:
    decision = learned.classify("2栋楼梯间一股很浓的煤气味")
    assert decision.kind is Kind.MAJOR
    assert decision.urgent or decision.check
    assert decision.domain is Domain.SAFETY


def _broken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_model_degrades_to_the_rules(cache_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tsv"
    classifier = load_classifier(RULES, cache_dir, model_file=missing)
    assert classifier.degraded
    assert classifier.model is None
    assert classifier.model_error is not None
    assert str(missing) in classifier.model_error
    assert "missing" in classifier.model_error
    assert classifier.classify("电梯困人了").urgent  # the rules still work


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace("format\t1", "format\t9", 1), "format 9 is not supported"),
        (lambda t: t.replace("fingerprint\t", "fingerprint\tdead", 1), "another tokenizer or dictionary"),
        (lambda t: "".join(t.splitlines(keepends=True)[: t.count("\n") // 2]), "truncated"),
        (lambda t: t.replace("columns\tnoise", "columns\tchat", 1), "columns do not match"),
        (lambda t: "".join(t.splitlines(keepends=True)[:-1]) + "zzz\t1\t2\n", "expected a feature and 12 weights"),
        (lambda t: "hello\n", "unknown header line"),
    ],
)
def test_bad_model_files_are_named_and_refused(
    classifier: RuleClassifier, shipped_text: str, tmp_path: Path, edit: object, reason: str
) -> None:
    assert callable(edit)
    path = _broken(tmp_path, edit(shipped_text))
    with pytest.raises(ModelError, match=reason) as caught:
        load_model(path, classifier.fingerprint)
    assert str(caught.value).startswith(f"{path}:")


def test_corrupt_model_degrades_without_raising(cache_dir: Path, shipped_text: str, tmp_path: Path) -> None:
    path = _broken(tmp_path, shipped_text.replace("\t0.", "\tx.", 1))
    classifier = load_classifier(RULES, cache_dir, model_file=path)
    assert classifier.degraded
    assert "is not a number" in str(classifier.model_error)


def test_features_cover_every_character_pair_once_and_spaces_break_them() -> None:
    from nlp.features import extract

    tokens = ["3", "楼", "水管", "漏水"]
    features = extract("3楼水管漏水", tokens)
    assert features.count("c:水") == 2  # a bag: 水管 and 漏水 each carry 水
    assert {"w:#", "w:水管", "c:水管", "c:楼水", "c:管漏", "c:漏水"} <= set(features)
    spaced = extract("楼道 灯坏了", ["楼道", "灯", "坏", "了"])
    assert "c:道灯" not in spaced
    assert "c:灯坏" in spaced
    assert "q:?" in extract("停水了?", ["停水", "了", "?"])


def test_summing_weights_per_token_changes_nothing(learned: RuleClassifier) -> None:
    """The per-token cache is a speed-up only: the same probabilities as the plain bag of features."""
    from nlp.features import extract
    from nlp.normalise import split_quoted_reply

    model = learned.model
    assert model is not None
    texts = [e.text for e in read_corpus(DATA / "test.jsonl")] + ["3楼 水管漏水", "", "???", "lift壞咗 困人!!"]
    for text in texts * 2:  # the second pass reads the cache
        _, reply = split_quoted_reply(text)
        normalised = learned._normalise(reply)
        tokens = learned._segmenter.cut(normalised)
        slow, fast = model.predict(extract(normalised, tokens)), model.predict_tokens(normalised, tokens)
        assert fast.kind == pytest.approx(slow.kind, abs=1e-12)
        assert fast.domain == pytest.approx(slow.domain, abs=1e-12)
        assert fast.danger == pytest.approx(slow.danger, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("甲乙丙丁戊"), st.floats(min_value=-3, max_value=3).map(lambda w: round(w, 1))),
        max_size=8,
    ),
    st.integers(min_value=1, max_value=3),
)
def test_strongest_parts_are_the_best_distinct_labels(parts: list[tuple[str, float]], count: int) -> None:
    from nlp.model import Prediction

    prediction = Prediction((1.0, 0.0, 0.0), 0.0, tuple((label, (w, 0.0, 0.0, 0.0)) for label, w in parts), (), 1.0, ())
    best: dict[str, float] = {}
    for label, weight in parts:
        if weight > 0 and weight > best.get(label, 0.0):
            best[label] = weight
    expected = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:count]
    assert prediction.strongest(0, count) == expected
