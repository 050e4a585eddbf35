"""The honest leave-one-round-out estimate of the classifier, reproducible from the repository.

    python -m bench.honest_crossval [--json] [--corpus config/corpus/*.jsonl ...]

Each blind round in ``tests/data/dev.jsonl`` (f, b2, b3, b4, b5) is held out in turn:

1. **rules as they stood before the round was tuned in**: the project's ``nlp/`` and ``config/`` at the
   commit that scored the round before any change (``HISTORY``) are extracted from git into
   ``.cache/linli/history/COMMIT`` and run in a subprocess over the round's messages; what the blend
   needs from them (scores, signals, the area tally) is dumped once and cached;
2. **the learned layer trained without the round**: today's trainer and features on the other rounds of
   dev.jsonl plus the corpora (default: ``config/corpus/*.jsonl``);
3. **blend settings chosen without the round** (nested): the coordinate search of
   :func:`nlp.crossval.choose` on the other rounds, then the held-out round is scored with them.

It prints, per round: the historical rules alone, the model alone, the blend with the shipped settings
and the nested blend; then the settings the search picks on all rounds. Needs git history and the
``train`` extra. Caveat printed with the figures: corpora written after a round was read (every corpus
today was) flatter that round's model figures a little; only a new blind set is a true measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# the commit that scored each blind round before any change was made for it
HISTORY = {
    "f": "b1630e5",  # "Fresh labelled set (462 messages) written before reading the rules or the corpora"
    "b2": "986a816",  # "blind2 scored once before tuning"
    "b3": "8ee231d",  # "blind3 scored once before any change"
    "b4": "9cb9606",  # the merged learned layer, scored once on blind4 before it joined dev
    "b5": "96decf7",  # round 2 of the learned layer as merged, scored on blind5 before it joined dev
}

# Runs inside the extracted historical tree (its nlp/ first on sys.path): one JSON line per message with
# what a RuleVerdict holds. Old trees have no RuleVerdict, so it is rebuilt from the explanation and the
# rules' own kinds, domains and weights, as today's classifier builds it when a model is loaded.
DUMP = r"""
import json, sys
from pathlib import Path
import nlp.classifier
assert Path(nlp.classifier.__file__).resolve().is_relative_to(Path.cwd().resolve()), nlp.classifier.__file__
from nlp.classifier import load_classifier
classifier = load_classifier(Path("config/rules.yaml"), Path(sys.argv[1]))
settings = classifier.ruleset.settings
by_id = {rule.id: rule for rule in classifier.ruleset.rules}
dampers = {"notice", "ad", "forward", "poll", "resolved"}
for line in sys.stdin:
    item = json.loads(line)
    decision, x = classifier.explain(item["text"])
    kind = decision.kind.value
    votes = []
    for reason in decision.rules:
        rule_id, _, marker = reason.partition("@")
        rule = by_id.get(rule_id)
        if rule is None or rule.signal is not None or marker == "hypothetical":
            continue
        voted = {"household": rule.household, "collective": rule.collective}.get(marker) or rule.kind
        votes.append((voted.value, rule.domain.value if rule.domain is not None else None, rule.weight))
    tally = {}
    for voted, domain, weight in votes:
        if domain is not None and voted != "noise":
            tally[domain] = tally.get(domain, 0.0) + weight * (2.0 if voted == kind else 1.0)
    active = {name for name, total in x.signals.items() if total >= settings.signal_threshold}
    if "@damped" not in decision.rules:
        active -= dampers
    if "relapse" in active:
        active.discard("resolved")
    print(json.dumps({
        "id": item["id"], "kind": kind, "urgent": decision.urgent, "domain": decision.domain.value,
        "noise": x.scores["noise"] + settings.noise_prior, "trivial": x.scores["trivial"],
        "major": x.scores["major"], "danger": x.scores["urgent"],
        "voted": bool(votes) or x.scores["noise"] > 0, "tally": tally, "signals": sorted(active),
        "chars": len(x.normalised), "rules": list(decision.rules),
    }, ensure_ascii=False))
"""


def extract_tree(commit: str, cache: Path) -> Path:
    """``nlp/`` and ``config/`` of ``commit``, extracted once under ``cache``."""
    full = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    tree = cache / "history" / full
    if not (tree / ".complete").exists():
        archive = subprocess.run(["git", "archive", full, "nlp", "config"], cwd=ROOT, check=True, capture_output=True)
        tree.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        (tree / ".complete").touch()
    return tree


def historical_verdicts(name: str, examples: list[Any], cache: Path) -> list[dict[str, Any]]:
    """The historical rules' verdicts on ``examples`` (cached by commit and texts)."""
    tree = extract_tree(HISTORY[name], cache)
    payload = "".join(json.dumps({"id": e.id, "text": e.text}, ensure_ascii=False) + "\n" for e in examples)
    key = hashlib.sha256((DUMP + payload).encode()).hexdigest()[:16]
    stored = cache / "history" / f"{name}-{tree.name[:12]}-{key}.jsonl"
    if not stored.exists():
        result = subprocess.run(
            [sys.executable, "-c", DUMP, str(cache / "history" / "jieba")],
            cwd=tree,
            input=payload,
            check=True,
            capture_output=True,
            text=True,
        )
        stored.write_text(result.stdout, encoding="utf-8")
    rows = [json.loads(line) for line in stored.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [e.id for e in examples], f"{stored}: ids out of step"
    return rows


def _verdict(row: dict[str, Any]) -> tuple[Any, Any]:  # nlp is imported late, after argument parsing
    from nlp.blend import RuleVerdict
    from nlp.decision import Decision, Domain, Kind

    verdict = RuleVerdict(
        kind=Kind(row["kind"]),
        urgent=row["urgent"],
        danger_votes=row["danger"],
        scores=(row["noise"], row["trivial"], row["major"]),
        voted=row["voted"],
        domain_tally={Domain(d): w for d, w in row["tally"].items()},
        signals=frozenset(row["signals"]),
        reasons=(),
        chars=row["chars"],
    )
    decision = Decision(Kind(row["kind"]), row["urgent"], Domain(row["domain"]), 1.0, tuple(row["rules"]))
    return verdict, decision


def _row(report: Any) -> dict[str, float]:
    return {
        "macro_f1": round(report.macro_f1, 3),
        "domain": round(report.domain_accuracy, 3),
        "urgent_recall": round(report.urgent_recall, 3),
        "alarm_recall": round(report.alarm_recall, 3),
        "urgent_fp": round(report.urgent_false_positive_rate, 4),
        "check_fp": round(report.check_rate, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=Path, default=ROOT / "tests" / "data" / "dev.jsonl")
    parser.add_argument("--corpus", type=Path, nargs="*", default=None, help="extra training corpora")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".cache" / "linli")
    parser.add_argument("--rounds", nargs="*", default=list(HISTORY))
    parser.add_argument("--no-search", action="store_true", help="skip the nested search (quick look)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()

    import jieba

    from nlp.classifier import DEFAULT_MODEL, load_classifier
    from nlp.crossval import MODEL_ONLY, HeldOut, Targets, choose, folds, nested
    from nlp.evaluation import read_corpus
    from nlp.train import TrainSettings

    jieba.setLogLevel(40)
    started = time.perf_counter()
    corpora = args.corpus if args.corpus is not None else sorted((ROOT / "config" / "corpus").glob("*.jsonl"))
    dev = read_corpus(args.dev)
    extra = [e for path in corpora for e in read_corpus(path)]
    classifier = load_classifier(ROOT / "config" / "rules.yaml", args.cache_dir, model_file=DEFAULT_MODEL)
    shipped = classifier.blend_settings
    train_settings = TrainSettings()  # the shipped model's (a test retrains it with these and compares bytes)
    log = (lambda text: None) if args.json else (lambda text: print(f"  … {text}", file=sys.stderr))
    log(f"training {len(args.rounds)} folds on {len(dev)} dev + {len(extra)} corpus lines")
    rounds = []
    for fold in folds(classifier, dev, extra, train_settings, rounds=args.rounds):
        log(f"historical rules ({HISTORY[fold.name]}) on {fold.name}")
        pairs = [_verdict(r) for r in historical_verdicts(fold.name, fold.held_out, args.cache_dir)]
        predictions = [fold.model.predict(classifier.features(e.text)) for e in fold.held_out]
        rounds.append(HeldOut(fold.name, fold.held_out, [v for v, _ in pairs], [d for _, d in pairs], predictions))
    targets = Targets()
    table: dict[str, dict[str, dict[str, float]]] = {}
    for held in rounds:
        table[held.name] = {
            "rules (historical)": _row(held.rules_alone()),
            "model alone": _row(held.blended(MODEL_ONLY)),
            "blend, shipped settings": _row(held.blended(shipped)),
        }
    chosen: dict[str, str] = {}
    if not args.no_search:
        for held, settings, report in nested(rounds, shipped, targets, log):
            table[held.name]["blend, nested"] = _row(report)
            chosen[held.name] = repr(settings)
        final = choose(rounds, shipped, targets)
        chosen["all rounds"] = repr(final)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"rounds": table, "settings": chosen, "seconds": round(seconds, 1)}, ensure_ascii=False))
        return
    for name, rows in table.items():
        print(f"\n{name} ({len(next(r for r in rounds if r.name == name).examples)} messages)")
        print(f"  {'':26}{'macroF1':>8}{'domain':>8}{'urgent':>8}{'alarm':>8}{'urgFP':>8}{'chkFP':>8}")
        for label, row in rows.items():
            print(f"  {label:26}" + "".join(f"{value:>8.3f}" for value in row.values()))
    for name, settings in chosen.items():
        print(f"\nsettings chosen on {'the other rounds than ' + name if name != 'all rounds' else name}: {settings}")
    print(f"\n({seconds:.0f} s; corpora written after a round was read flatter its model figures a little)")


if __name__ == "__main__":
    main()
