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
* ``linli nlp eval LABELLED.jsonl...`` prints, per file, precision/recall/F1, macro-F1, urgent recall and
  false-positive rate, urgent-or-check recall, the share flagged check, domain accuracy, a calibration
  table, confusion matrices and the worst mistakes. ``--requests-only FILE...`` instead reads files of
  known requests (``text``, optional ``residential``) and prints the share classified as requests.
* ``linli nlp check [RULES.yaml] [--model MODEL]`` validates the rules and the learned layer's file
  offline: exit 0, or 2 with ``FILE:LINE: reason``.
* ``linli nlp train CORPUS.jsonl... --out MODEL`` fits the learned layer (needs the ``train`` extra);
  a bad corpus line is ``FILE:LINE: reason``, exit 2, nothing written.
* ``linli nlp crossval`` prints the leave-one-round-out estimate (docs/classifier.md).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import click

from bot.cli.common import fail, settings_or_exit
from nlp.classifier import RuleClassifier, load_classifier
from nlp.decision import Kind
from nlp.evaluation import CorpusError, evaluate, format_report, read_corpus, read_requests
from nlp.model import ModelError, load_model
from nlp.rules import RulesError


def _load(rules: Path | None, model: Path | None = None, *, no_model: bool = False) -> RuleClassifier:
    """The classifier as the service runs it: the rules plus the learned layer, unless ``no_model``.
    A refused model file is a warning here (the rules decide alone), as in the service."""
    settings = settings_or_exit()
    try:
        classifier = load_classifier(
            rules or settings.nlp.rules_file,
            settings.nlp.cache_dir,
            max_chars=settings.nlp.max_text_chars,
            model_file=None if no_model else model or settings.nlp.model_file,
        )
    except RulesError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    if classifier.model_error is not None:
        click.echo(f"linli: warning: rules alone (degraded): {classifier.model_error}", err=True)
    return classifier


_MODEL_OPTION = click.option(
    "--model", type=click.Path(path_type=Path, dir_okay=False), help="Learned layer (default: settings)."
)
_NO_MODEL_OPTION = click.option("--rules-only", "no_model", is_flag=True, help="Leave the learned layer out.")


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
@_MODEL_OPTION
@_NO_MODEL_OPTION
def classify(
    text: str | None, jsonl: Path | None, out: Path | None, rules: Path | None, model: Path | None, no_model: bool
) -> None:
    """Classify TEXT, or every line of --jsonl IN into --out OUT."""
    if (text is None) == (jsonl is None):
        fail("give either TEXT or --jsonl IN --out OUT")
    if jsonl is None:
        assert text is not None
        classifier = _load(rules, model, no_model=no_model)
        decision, explanation = classifier.explain(text)
        click.echo(json.dumps(decision.as_json(), ensure_ascii=False))
        click.echo(f"normalised: {explanation.normalised}", err=True)
        click.echo(f"tokens:     {' / '.join(explanation.tokens)}", err=True)
        click.echo(f"rules:      {', '.join(decision.rules) or '(none: nothing to report)'}", err=True)
        click.echo(f"scores:     {explanation.scores}", err=True)
        click.echo(f"signals:    {explanation.signals or '-'}", err=True)
        click.echo(f"model:      {explanation.model or '(not loaded)'}", err=True)
        if explanation.negated:
            click.echo(f"negated:    {', '.join(explanation.negated)}", err=True)
        return
    if out is None:
        fail("--jsonl needs --out (use --out - for stdout)")
    assert out is not None
    classifier = _load(rules, model, no_model=no_model)
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
    """The classifier's tools: evaluate, check the rules and the model, train the learned layer."""


def _print_requests(classifier: RuleClassifier, files: tuple[Path, ...], residential: bool, as_json: bool) -> None:
    for path in files:
        try:
            rows = read_requests(path)
        except CorpusError as exc:
            fail(str(exc))
            raise
        figures = requests_share(classifier, rows)
        if as_json:
            click.echo(json.dumps({"file": str(path), **figures}, ensure_ascii=False))
            continue
        click.echo(f"{path}: {figures['total']} known requests")
        click.echo(f"  classified as requests: {figures['share']:.3f}")
        if figures["residential_total"]:
            click.echo(f"  residential ({figures['residential_total']}): {figures['residential_share']:.3f}")
        elif residential:
            click.echo("  residential: none marked in this file")


def requests_share(classifier: RuleClassifier, rows: list[tuple[str, bool]]) -> dict[str, float]:
    hits = [(classifier.classify(text).kind is not Kind.NOISE, resident) for text, resident in rows]
    residential = [hit for hit, resident in hits if resident]
    return {
        "total": len(hits),
        "share": sum(hit for hit, _ in hits) / len(hits) if hits else 0.0,
        "residential_total": len(residential),
        "residential_share": sum(residential) / len(residential) if residential else 0.0,
    }


@nlp.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), help="Rules file (default: settings).")
@_MODEL_OPTION
@_NO_MODEL_OPTION
@click.option("--worst", default=20, show_default=True, help="How many worst mistakes to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object per file instead.")
@click.option(
    "--requests-only", is_flag=True, help="FILES hold known requests (text only): print the share read as requests."
)
@click.option("--residential", is_flag=True, help="With --requests-only: also the share of lines marked residential.")
def eval_command(
    files: tuple[Path, ...],
    rules: Path | None,
    model: Path | None,
    no_model: bool,
    worst: int,
    as_json: bool,
    requests_only: bool,
    residential: bool,
) -> None:
    """Score the classifier against each labelled FILE (text, kind, urgent, domain, optional check)."""
    if requests_only:
        _print_requests(_load(rules, model, no_model=no_model), files, residential, as_json)
        return
    corpora = []
    for path in files:
        try:
            corpora.append((path, read_corpus(path)))
        except CorpusError as exc:
            fail(str(exc))
    classifier = _load(rules, model, no_model=no_model)
    for path, examples in corpora:
        report = evaluate(classifier, examples, worst=worst)
        if as_json:
            click.echo(json.dumps({"file": str(path), **report.as_json()}, ensure_ascii=False))
        else:
            if len(corpora) > 1:
                click.echo(f"==> {path}")
            click.echo(format_report(report))
            if len(corpora) > 1:
                click.echo("")


@nlp.command("check")
@click.argument("rules_file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--model", type=click.Path(path_type=Path, dir_okay=False), help="Model file (default: settings).")
def check(rules_file: Path | None, model: Path | None) -> None:
    """Validate RULES.yaml and the learned layer's file offline: exit 0 if usable, 2 with FILE:LINE: reason."""
    settings = settings_or_exit()
    rules_file = rules_file or settings.nlp.rules_file
    try:
        classifier = load_classifier(rules_file, settings.nlp.cache_dir)
    except RulesError as exc:
        fail(str(exc))
        raise
    rules = classifier.ruleset.rules
    click.echo(f"{rules_file}: ok, {len(rules)} rules, version {classifier.ruleset.version}")
    model_file = model or settings.nlp.model_file
    if model_file is None:
        click.echo("model: none configured (the rules decide alone)")
        return
    try:
        learned = load_model(model_file, classifier.fingerprint)
    except ModelError as exc:
        fail(str(exc))
        raise
    click.echo(f"{model_file}: ok, {learned.size} features, fingerprint {learned.fingerprint}")


@nlp.command("train")
@click.argument("corpora", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Model file.")
@click.option("--rules", type=click.Path(path_type=Path, dir_okay=False), help="Rules file (default: settings).")
def train_command(corpora: tuple[Path, ...], out: Path, rules: Path | None) -> None:
    """Fit the learned layer on labelled CORPORA ({"id","text","kind","urgent","domain"}, optional "check")."""
    from nlp.train import TrainingError, read_corpora, train

    try:
        read_corpora(corpora)  # every line checked before anything is fitted
    except CorpusError as exc:
        fail(str(exc))
    classifier = _load(rules, no_model=True)
    started = time.perf_counter()
    try:
        text = train(classifier, corpora)
    except TrainingError as exc:
        fail(str(exc))
        raise
    out.write_text(text, encoding="utf-8")
    rows = text.count("\n")
    click.echo(
        f"{out}: {len(text.encode())} bytes, {rows} lines, trained in {time.perf_counter() - started:.1f} s",
        err=True,
    )


@nlp.command("crossval")
@click.option(
    "--dev", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=Path("tests/data/dev.jsonl")
)
@click.argument("extra", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
def crossval_command(dev: Path, extra: tuple[Path, ...]) -> None:
    """Leave-one-round-out estimate on DEV (rounds f, b2, b3, b4) with today's rules, training on the rest plus
    EXTRA corpora (the honest estimate with historical rules: python -m bench.honest_crossval)."""
    from nlp.crossval import MODEL_ONLY, evaluate_fold, folds
    from nlp.train import TrainSettings, read_corpora

    try:
        dev_examples = read_corpus(dev)
        extra_examples = read_corpora(extra)
    except CorpusError as exc:
        fail(str(exc))
        raise
    classifier = _load(None)
    blend = classifier.blend_settings
    click.echo("round  scorer  macroF1  domain  urgent  alarm  urgentFP  check")
    for fold in folds(classifier, dev_examples, extra_examples, TrainSettings()):
        for name, settings in (("model", MODEL_ONLY), ("rules", None), ("blend", blend)):
            r = evaluate_fold(classifier, fold, settings)
            click.echo(
                f"{fold.name:<6} {name:<7} {r.macro_f1:7.3f} {r.domain_accuracy:7.3f} {r.urgent_recall:7.3f} "
                f"{r.alarm_recall:6.3f} {r.urgent_false_positive_rate:9.3f} {r.check_rate:6.3f}"
            )
