"""Is the matcher's confidence worth showing? Posterior vs correctness, and the review queue's ranking.

The call page marks labels whose posterior is below review.UNSURE_BELOW, and the review queue
(review.review_queue) ranks calls by expected wrong labels, the sum of 1 − posterior. Both are only
useful if the posterior tracks correctness on SOPs the model never saw. This script measures that on
the hand-labelled calls, honestly:

  eval set   tests/data/sop_eval, leave-one-SOP-out emission weights (as train_sop_emission.py)
  held-out   tests/data/sop_holdout, the shipped weights (those SOPs were never trained on)

Prints accuracy per posterior band (Wilson 95% intervals), the correlation over calls between
expected and actual wrong labels, and how many of all wrong labels the top quarter of the queue holds.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_confidence.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from sop_review_learning import Corpus

from app.library.talk_tracks import wilson
from app.sop.evaluation import EvalCall
from app.sop.matcher import MatchParams, match_call
from app.sop.review import UNSURE_BELOW, queue_score

BANDS = ((0.0, 0.5), (0.5, UNSURE_BELOW), (UNSURE_BELOW, 0.85), (0.85, 0.95), (0.95, 1.0001))


def labels(calls: list[EvalCall], corpus: Corpus, weights_for) -> list[tuple[EvalCall, np.ndarray, np.ndarray]]:
    """Per call: (call, posterior of each label, whether each label is right)."""
    out = []
    for c in calls:
        params = MatchParams(emission_weights=tuple(float(w) for w in weights_for(c)))
        prep = corpus.prep(c)
        res = match_call(c.utterances, prep.index_for(c.sop, MatchParams()), utterance_vectors=prep.vectors[c.id],
                         params=params)
        gold = [u.label for u in c.utterances]
        out.append((c, np.array([lab.score for lab in res.labels]),
                    np.array([lab.step_id == g for lab, g in zip(res.labels, gold)])))
    return out


def report(title: str, rows: list[tuple[EvalCall, np.ndarray, np.ndarray]]) -> None:
    scores = np.concatenate([s for _c, s, _r in rows])
    right = np.concatenate([r for _c, _s, r in rows])
    print(f"\n{title}: {len(rows)} calls, {len(scores)} labels, accuracy {right.mean():.3f}")
    for lo, hi in BANDS:
        inside = (scores >= lo) & (scores < hi)
        n, k = int(inside.sum()), int(right[inside].sum())
        low, high = wilson(k, n) or (float("nan"), float("nan"))
        marker = "  ← marked unsure" if hi <= UNSURE_BELOW else ""
        print(f"  posterior {lo:.2f}–{min(hi, 1.0):.2f}: {n:4d} labels, right {k / max(n, 1):.2f} [{low:.2f}, {high:.2f}]{marker}")
    expected = np.array([float((1 - s).sum()) for _c, s, _r in rows])
    actual = np.array([float((~r).sum()) for _c, _s, r in rows])
    sizes = np.array([len(s) for _c, s, _r in rows])
    corr = float(np.corrcoef(expected, actual)[0, 1])
    print(f"  calls: correlation of expected vs actual wrong labels {corr:.2f}")
    average = expected.sum() / sizes.sum()
    shrunk = np.array([queue_score(e, n, average) for e, n in zip(expected, sizes)])
    for name, key in (("expected wrong labels", expected), ("expected wrong share", expected / sizes),
                      ("shrunk share (shipped)", shrunk)):
        top = np.argsort(-key, kind="stable")[: max(1, len(rows) // 4)]
        lines, wrong = sizes[top].sum() / sizes.sum(), actual[top].sum() / max(actual.sum(), 1)
        print(f"  queue by {name}: its top quarter ({len(top)} calls) holds {lines:.0%} of the lines and "
              f"{wrong:.0%} of the wrong labels (wrong per line {actual[top].sum() / sizes[top].sum():.2f}, "
              f"all calls {actual.sum() / sizes.sum():.2f})")


def main() -> None:
    corpus = Corpus.load()
    loso = {(c.language, c.sop): corpus.loso(c) for c in corpus.hand}
    rows = labels(corpus.hand, corpus, lambda c: loso[(c.language, c.sop)])
    for lang in ("en", "zh"):
        report(f"eval set, leave-one-SOP-out, {lang}", [r for r in rows if r[0].language == lang])
    rows = labels(corpus.held, corpus, corpus.shipped)
    for lang in ("en", "zh"):
        report(f"held-out SOPs, shipped weights, {lang}", [r for r in rows if r[0].language == lang])

if __name__ == "__main__":
    main()
