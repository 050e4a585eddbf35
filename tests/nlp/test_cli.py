"""The CLI contracts outside evaluations rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

from .conftest import DATA, RULES


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("LINLI_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINLI_NLP__CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LINLI_NLP__RULES_FILE", str(RULES))
    return CliRunner()


def test_classify_text_prints_decision_and_reasons(runner: CliRunner) -> None:
    result = runner.invoke(main, ["classify", "楼道有好大煤气味"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout.splitlines()[0])
    assert decision["kind"] == "major"
    assert decision["urgent"] is True
    assert "safety.gas" in decision["rules"]
    assert "rules:" in result.stderr


def test_classify_jsonl_keeps_order_and_reports_bad_lines(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": 1, "text": "谢谢楼长"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "x", "text": "电梯困人了"}, ensure_ascii=False),
        "",
        json.dumps({"id": 4}),
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(main, ["classify", "--jsonl", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5
    assert rows[0] == {"id": 1, "kind": "noise", "urgent": False, "check": False, "domain": "其他"} | {
        "confidence": rows[0]["confidence"],
        "rules": rows[0]["rules"],
    }
    assert rows[1]["error"].startswith("line 2:")
    assert rows[2]["id"] == "x"
    assert rows[2]["urgent"] is True
    assert rows[3]["error"].startswith("line 4:")
    assert rows[4] == {"id": 4, "error": "line 5: 'text' must be a string"}
    assert "warning: line 2" in result.stderr


def test_classify_jsonl_to_stdout(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(["停水了", "好"])),
        encoding="utf-8",
    )
    result = runner.invoke(main, ["classify", "--jsonl", str(source), "--out", "-"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [0, 1]
    assert [set(r) for r in rows] == [{"id", "kind", "urgent", "check", "domain", "confidence", "rules"}] * 2


def test_nlp_eval_prints_the_figures(runner: CliRunner) -> None:
    result = runner.invoke(main, ["nlp", "eval", str(DATA / "test.jsonl"), "--worst", "3"])
    assert result.exit_code == 0, result.output
    for heading in [
        "macro-F1",
        "urgent recall",
        "urgent false-positive",
        "domain accuracy",
        "confusion",
        "worst",
    ]:
        assert heading in result.stdout


def test_nlp_check(runner: CliRunner, tmp_path: Path) -> None:
    ok = runner.invoke(main, ["nlp", "check", str(RULES)])
    assert ok.exit_code == 0
    assert "ok" in ok.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nrules:\n  - id: a\n    kind: major\n    words: [x]\n", encoding="utf-8")
    bad = runner.invoke(main, ["nlp", "check", str(broken)])
    assert bad.exit_code == 2
    assert f"{broken}:3: " in bad.stderr


def test_classify_json_carries_check_and_model_features(runner: CliRunner) -> None:
    result = runner.invoke(main, ["classify", "楼上卫生间渗水，我家天花板都湿了"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout.splitlines()[0])
    assert decision["check"] is False
    assert any(reason.startswith("model:") for reason in decision["rules"])
    assert "model:" in result.stderr


def test_nlp_eval_several_files_with_alarm_figures_and_calibration(runner: CliRunner, tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    rows = [
        {"id": "a", "text": "楼道有好大煤气味", "kind": "major", "urgent": True, "domain": "安全管理"},
        {"id": "b", "text": "谢谢楼长", "kind": "noise", "urgent": False, "domain": "其他"},
        {"id": "c", "text": "对门阿婆几日冇开门", "kind": "major", "urgent": False, "domain": "其他", "check": True},
    ]
    small.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(main, ["nlp", "eval", str(DATA / "test.jsonl"), str(small), "--worst", "0"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("==> ") == 2
    for heading in ["urgent-or-check recall", "flagged check", "calibration"]:
        assert heading in result.stdout
    as_json = runner.invoke(main, ["nlp", "eval", str(small), "--json"])
    figures = json.loads(as_json.stdout)
    assert figures["alarm_recall"] == 1.0
    assert figures["total"] == 3


def test_nlp_eval_requests_only(runner: CliRunner, tmp_path: Path) -> None:
    known = tmp_path / "known.jsonl"
    rows = [
        {"text": "某小区噪音扰民严重", "residential": True},
        {"text": "关于小区物业管理混乱的投诉", "residential": True},
        {"text": "请问社保转移需要什么材料"},
        {"text": "谢谢大家"},
    ]
    known.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = runner.invoke(main, ["nlp", "eval", "--requests-only", "--residential", str(known), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["total"] == 4
    assert figures["share"] == 0.75  # the thanks is not a request
    assert figures["residential_total"] == 2
    assert figures["residential_share"] == 1.0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": 1, "text": "停水", "kind": "urgentish", "urgent": false, "domain": "日常生活"}', "unknown kind"),
        ('{"id": 1, "text": "停水", "kind": "trivial", "urgent": false, "domain": "水电"}', "unknown domain"),
        ('{"id": 1, "text": "停水", "kind": "trivial", "domain": "日常生活"}', "missing field 'urgent'"),
        ('{"id": 1, "text": "停水", "kind": "trivial", "urgent": true, "domain": "日常生活"}', "only a major"),
        ("{not json", "not valid JSON"),
    ],
)
def test_nlp_train_refuses_a_bad_corpus_line(runner: CliRunner, tmp_path: Path, line: str, reason: str) -> None:
    corpus = tmp_path / "corpus.jsonl"
    good = '{"id": 0, "text": "谢谢", "kind": "noise", "urgent": false, "domain": "其他"}'
    corpus.write_text(good + "\n" + line + "\n", encoding="utf-8")
    out = tmp_path / "model.tsv"
    result = runner.invoke(main, ["nlp", "train", str(DATA / "test.jsonl"), str(corpus), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{corpus}:2: " in result.stderr
    assert reason in result.stderr
    assert not out.exists(), "nothing is trained from a bad corpus"


def test_nlp_train_is_reproducible_and_check_accepts_it(runner: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    for out in (first, second):
        result = runner.invoke(main, ["nlp", "train", str(DATA / "test.jsonl"), "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    assert "corpus\ttests/data/test.jsonl\t" in first.read_text(encoding="utf-8")
    checked = runner.invoke(main, ["nlp", "check", str(RULES), "--model", str(first)])
    assert checked.exit_code == 0, checked.output
    assert str(first) in checked.stdout


def test_nlp_check_names_a_bad_model(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(main, ["nlp", "check", str(RULES), "--model", str(tmp_path / "none.tsv")])
    assert missing.exit_code == 2
    assert f"{tmp_path / 'none.tsv'}:0: the model file is missing" in missing.stderr
    other = tmp_path / "other.tsv"
    shipped = (RULES.parent / "model.tsv").read_text(encoding="utf-8")
    other.write_text(shipped.replace("fingerprint\t", "fingerprint\t0", 1), encoding="utf-8")
    mismatched = runner.invoke(main, ["nlp", "check", str(RULES), "--model", str(other)])
    assert mismatched.exit_code == 2
    assert f"{other}:0: trained with another tokenizer or dictionary" in mismatched.stderr


def test_classify_keeps_running_on_the_rules_when_the_model_is_bad(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("format\t1\n", encoding="utf-8")
    result = runner.invoke(main, ["classify", "--model", str(bad), "电梯困人了"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["urgent"] is True
    assert "degraded" in result.stderr
