"""How far two annotators agree on the SOP evaluation set: the ceiling a matcher is measured against.

The second annotator labels blind copies of the calls (text and roles only, no labels, no
matcher output) with the same SOPs and conventions. Scored exactly as the matcher is scored by
`talktrack eval sop`, with annotator A (tests/data/sop_eval) as gold and annotator B as the
prediction: per-utterance accuracy, macro-F1 over steps, Cohen's kappa over all labels (off-SOP
included), and the missed-step deviations B's labels imply (labelled stage scope) against A's.
95 % intervals by bootstrap over calls.

Run:  .venv/bin/python scripts/sop_label_agreement.py --b DIR [--a tests/data/sop_eval]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sop.evaluation import (
    EVAL_SET_DIR,
    OFF_SOP,
    EvalCall,
    evaluate,
    found_deviations,
    gold_match,
    load_eval_set,
)
from app.sop.loader import load_sop_file


def relabelled(call: EvalCall, path: Path) -> EvalCall:
    """`call` with the labels of the second annotator's file of the same id."""
    labels = {int(u["index"]): u["label"] for u in json.loads(path.read_text(encoding="utf-8"))["utterances"]}
    missing = [u.index for u in call.utterances if labels.get(u.index) is None]
    if missing:
        raise SystemExit(f"{path.name}: no label for utterances {missing}")
    utterances = tuple(
        dataclasses.replace(u, label=None if labels[u.index] == OFF_SOP else labels[u.index]) for u in call.utterances
    )
    return dataclasses.replace(call, utterances=utterances, deviations=None)


def presence(pairs: list[tuple[set[str], set[str]]], rng: np.random.Generator) -> str:
    """Precision / recall of B's missed steps against A's, pooled over calls, with intervals."""

    def pr(sample: list[tuple[set[str], set[str]]]) -> tuple[float, float]:
        tp = sum(len(a & b) for a, b in sample)
        found, truth = sum(len(b) for _a, b in sample), sum(len(a) for a, _b in sample)
        return (tp / found if found else float("nan"), tp / truth if truth else float("nan"))

    point = pr(pairs)
    boot = np.array([pr([pairs[i] for i in rng.integers(0, len(pairs), len(pairs))]) for _ in range(2000)])
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    return (f"precision {point[0]:.3f} [{lo[0]:.3f}, {hi[0]:.3f}]  "
            f"recall {point[1]:.3f} [{lo[1]:.3f}, {hi[1]:.3f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, default=EVAL_SET_DIR, help="first annotator's calls (the gold)")
    parser.add_argument("--b", type=Path, required=True, help="second annotator's files, same names")
    args = parser.parse_args()
    first = [c for c in load_eval_set(args.a) if (args.b / f"{c.id}.json").exists()]
    if not first:
        raise SystemExit(f"no call of {args.a} has a file in {args.b}")
    rng = np.random.default_rng(7)
    for language in ("en", "zh"):
        calls = [c for c in first if c.language == language]
        if not calls:
            continue
        second = [relabelled(c, args.b / f"{c.id}.json") for c in calls]
        report = evaluate([(a.gold, b.gold) for a, b in zip(calls, second, strict=True)], n_boot=2000, seed=7)
        flat_a = [u.label or OFF_SOP for c in calls for u in c.utterances]
        flat_b = [u.label or OFF_SOP for c in second for u in c.utterances]
        missed = []
        for a, b in zip(calls, second, strict=True):
            sop = load_sop_file(str(ROOT / "sop_definitions" / a.sop))
            implied = found_deviations(gold_match(b, sop), sop, b, labelled_scope=True)
            missed.append((set(a.deviations.missed if a.deviations else ()), set(implied.missed)))
        print(f"{language}: {len(calls)} calls, {report.n_utterances} utterances, B scored against A")
        print(f"  macro-F1 {report.macro_f1}   accuracy {report.accuracy}   "
              f"Cohen's kappa {cohen_kappa_score(flat_a, flat_b):.3f}")
        print(f"  missed steps implied by B's labels vs A's: {presence(missed, rng)}")


if __name__ == "__main__":
    main()
