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
