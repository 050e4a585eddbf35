"""``linli classify`` and ``linli nlp {eval,check}``: the classifier from the command line.

Contracts (outside evaluations depend on them):

* ``linli classify TEXT`` prints the decision as JSON on stdout, then the reasons on stderr.
* ``linli classify --jsonl IN --out OUT`` reads objects ``{"id", "text"}`` one per line and writes
  ``{"id", "kind", "urgent", "domain", "confidence", "rules"}`` one per input line, in order (``-`` is
  stdin/stdout). A malformed line is not dropped: its output line is
  ``{"id": <id or null>, "error": "line N: reason"}`` (blank lines too) and a warning goes to stderr,
  so output line N always answers input line N. Exit code 0 even then (the error objects say what
  went wrong); 2 if the rules or the files cannot be opened. A progress bar is shown only when
  stderr is a terminal.
* ``linli nlp eval LABELLED.jsonl`` prints precision/recall/F1, macro-F1, urgent recall and
  false-positive rate, domain accuracy, confusion matrices and the worst mistakes.
* ``linli nlp check RULES.yaml`` validates a rules file offline: exit 0, or 2 with ``FILE:LINE: reason``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from bot.cli.common import fail, settings_or_exit
from nlp.classifier import RuleClassifier, load_classifier
from nlp.evaluation import CorpusError, evaluate, format_report, read_corpus
from nlp.rules import RulesError


def _load(rules: Path | None) -> RuleClassifier:
    settings = settings_or_exit()
    try:
        return load_classifier(
            rules or settings.nlp.rules_file,
            settings.nlp.cache_dir,
            max_chars=settings.nlp.max_text_chars,
        )
    except RulesError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits


def _parse_line(raw: str, number: int) -> tuple[Any, str | None, str | None]:
    """(id, text, error)."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, None, f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(obj, dict):
        return None, None, f"line {number}: expected a JSON object with id and text"
    ident = obj.get("id")
    text = obj.get("text")
    if "id" not in obj:
        return None, None, f"line {number}: missing 'id'"
    if not isinstance(text, str):
        return ident, None, f"line {number}: 'text' must be a string"
    return ident, text, None


def _classify_stream(classifier: RuleClassifier, source: IO[str], sink: IO[str], total: int | None) -> int:
    malformed = 0
    progress = None
    task = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(transient=True, console=None)
        progress.start()
        task = progress.add_task("classifying", total=total)
    try:
        for number, raw in enumerate(source, 1):
            if progress is not None and task is not None:
                progress.advance(task)
            ident, text, error = _parse_line(raw, number) if raw.strip() else (None, None, f"line {number}: empty")
            if error is not None or text is None:
                malformed += 1
                click.echo(f"linli: warning: {error}", err=True)
                sink.write(json.dumps({"id": ident, "error": error}, ensure_ascii=False) + "\n")
                continue
            out: dict[str, object] = {"id": ident}
            out.update(classifier.classify(text).as_json())
            sink.write(json.dumps(out, ensure_ascii=False) + "\n")
    finally:
        if progress is not None:
            progress.stop()
    return malformed


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return None


@click.command()
@click.argument("text", required=False)
@click.option("--jsonl", "jsonl", type=click.Path(path_type=Path, allow_dash=True), help="Input JSON lines.")
@click.option("--out", "out", type=click.Path(path_type=Path, allow_dash=True), help="Output (- = stdout).")
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), help="Rules file (default: settings).")
def classify(text: str | None, jsonl: Path | None, out: Path | None, rules: Path | None) -> None:
    """Classify TEXT, or every line of --jsonl IN into --out OUT."""
    if (text is None) == (jsonl is None):
        fail("give either TEXT or --jsonl IN --out OUT")
    if jsonl is None:
        assert text is not None
        classifier = _load(rules)
        decision, explanation = classifier.explain(text)
        click.echo(json.dumps(decision.as_json(), ensure_ascii=False))
        click.echo(f"normalised: {explanation.normalised}", err=True)
        click.echo(f"tokens:     {' / '.join(explanation.tokens)}", err=True)
        click.echo(f"rules:      {', '.join(decision.rules) or '(none: nothing to report)'}", err=True)
        click.echo(f"scores:     {explanation.scores}", err=True)
        click.echo(f"signals:    {explanation.signals or '-'}", err=True)
        if explanation.negated:
            click.echo(f"negated:    {', '.join(explanation.negated)}", err=True)
        return
    if out is None:
        fail("--jsonl needs --out (use --out - for stdout)")
    assert out is not None
    classifier = _load(rules)
    total = None if str(jsonl) == "-" else _count_lines(jsonl)
    try:
        source = sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8", errors="replace")
        sink = sys.stdout if str(out) == "-" else out.open("w", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot open: {exc}")
        raise
    try:
        malformed = _classify_stream(classifier, source, sink, total)
    finally:
        if source is not sys.stdin:
            source.close()
        if sink is not sys.stdout:
            sink.close()
        else:
            sink.flush()
    if malformed:
        click.echo(f"linli: {malformed} malformed line(s); see the error objects in the output", err=True)


@click.group()
def nlp() -> None:
    """The classifier's tools: evaluate on a labelled file, check a rules file."""


@nlp.command("eval")
@click.argument("labelled", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), help="Rules file (default: settings).")
@click.option("--worst", default=20, show_default=True, help="How many worst mistakes to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object instead.")
def eval_command(labelled: Path, rules: Path | None, worst: int, as_json: bool) -> None:
    """Score the classifier against LABELLED.jsonl (text, kind, urgent, domain)."""
    try:
        examples = read_corpus(labelled)
    except CorpusError as exc:
        fail(str(exc))
        raise
    report = evaluate(_load(rules), examples, worst=worst)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        click.echo(format_report(report))


@nlp.command("check")
@click.argument("rules_file", type=click.Path(path_type=Path, dir_okay=False))
def check(rules_file: Path) -> None:
    """Validate RULES.yaml offline: exit 0 if usable, 2 with FILE:LINE: reason if not."""
    settings = settings_or_exit()
    try:
        classifier = load_classifier(rules_file, settings.nlp.cache_dir)
    except RulesError as exc:
        fail(str(exc))
        raise
    rules = classifier.ruleset.rules
    click.echo(f"{rules_file}: ok, {len(rules)} rules, version {classifier.ruleset.version}")
