"""How much the matcher gains from reviewed calls of the same SOP (app/sop/review.py).

In production the lines people labelled in reviewed calls join their steps' examples
(`review.with_examples`) for every later match of that SOP. This script replays that with the
hand-labelled calls standing in for reviewed ones: for each call, K other labelled calls of its SOP
are "reviewed" (their step-speaker, non-filler lines become examples) and the call is matched with
and without them. Two sets, both honest about the emission model:

  eval set     tests/data/sop_eval, leave-one-SOP-out emission weights (as train_sop_emission.py)
  held-out     tests/data/sop_holdout, the shipped weights (those SOPs were never trained on)

Each language as shipped: English with e5 + mpnet and the English model, Chinese with e5.

Prints macro-F1 per language without and with, and the paired difference with a 95% bootstrap
interval over calls.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python scripts/sop_review_learning.py [--reviewed 7 4]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_match import Prepared, cached_embedder
from train_sop_emission import TRAIN_DIR, targets

from app.sop import emission
from app.sop.evaluation import EvalCall, evaluate, load_eval_set, load_generated_corpus
from app.sop.loader import load_sop_file
from app.sop.matcher import (
    MatchParams,
    SopIndex,
    call_features,
    index_from_vectors,
    is_filler,
    match_call,
    normalise_role,
)
from app.sop.review import with_examples

HOLDOUT = ROOT / "tests" / "data" / "sop_holdout"


# The shipped matching per language (models.embedder.match_embedder_name): embedder spec, and the
# calls its emission model is fitted on (None: every language).
SHIPPED = {"en": ("e5+mpnet", "en"), "zh": ("e5", None)}


@dataclass
class Corpus:
    """Every labelled call, embedded as the shipped matcher does for its language, with the learned
    models' features of the training calls."""

    hand: list[EvalCall]  # tests/data/sop_eval
    held: list[EvalCall]  # tests/data/sop_holdout: never trained on
    training: list[EvalCall]  # generated + hand + tests/data/sop_train
    preps: dict[str, Prepared]  # by language
    feats: dict[str, dict[str, np.ndarray]]  # by language, then call id (that language's model's training calls)
    ys: dict[str, dict[str, np.ndarray]]

    @classmethod
    def load(cls) -> Corpus:
        sop_files = {load_sop_file(str(p)).id: p.name for p in sorted((ROOT / "sop_definitions").glob("*.yaml"))}
        generated = load_generated_corpus(ROOT / "demo_data" / "generated", sop_files)
        hand = load_eval_set(ROOT / "tests" / "data" / "sop_eval")
        held = load_eval_set(HOLDOUT / "calls")
        training = generated + hand + load_eval_set(TRAIN_DIR / "calls")
        sop_dirs = (ROOT / "sop_definitions", TRAIN_DIR / "sops", HOLDOUT / "sops")
        base = MatchParams()
        preps, feats, ys = {}, {}, {}
        for lang, (spec, fitted_on) in SHIPPED.items():
            mine = [c for c in training + held if c.language == lang or fitted_on is None]
            preps[lang] = prep = Prepared(mine, cached_embedder(spec), sop_dirs=sop_dirs)
            fit = [c for c in training if fitted_on in (None, c.language)]
            feats[lang] = {c.id: call_features(c.utterances, prep.vectors[c.id], prep.index_for(c.sop, base), base)
                           for c in fit}
            ys[lang] = {c.id: targets(c, prep.index_for(c.sop, base).step_ids) for c in fit}
        return cls(hand, held, training, preps, feats, ys)

    def prep(self, call: EvalCall) -> Prepared:
        """Vectors and SOP indexes as the shipped matcher makes them for this call's language."""
        return self.preps[call.language]

    def loso(self, call: EvalCall) -> np.ndarray:
        """The call's language's emission weights fitted on every SOP but the call's (the shipped L2)."""
        feats, ys = self.feats[call.language], self.ys[call.language]
        train = [c for c in self.training if c.id in feats and c.sop != call.sop]
        model = emission.model_for(self.preps[call.language].embedder_name)
        return emission.fit([feats[c.id] for c in train], [ys[c.id] for c in train], l2=model.l2)

    def shipped(self, call: EvalCall) -> np.ndarray:
        """The shipped weights for the call's language."""
        return emission.model_for(self.preps[call.language].embedder_name).weights


def reviewed_index(index: SopIndex, prep: Prepared, reviewed: list[EvalCall]) -> SopIndex:
    """The SOP index with the reviewed calls' lines among the examples (vectors from the cache)."""
    speaker = {step.id: step.speaker for _stage, step in index.sop.steps()}
    extra: dict[str, list[str]] = {}
    vectors: dict[str, list[np.ndarray]] = {}
    known = {t for texts in index.texts for t in texts}
    for call in reviewed:
        for t, u in enumerate(call.utterances):
            text = u.text.strip()
            if u.label is None or is_filler(text) or normalise_role(u.role) != speaker[u.label] or text in known:
                continue
            known.add(text)
            extra.setdefault(u.label, []).append(text)
            vectors.setdefault(u.label, []).append(prep.vectors[call.id][t])
    sop = with_examples(index.sop, extra)
    rows = {}
    for step_id, own in zip(index.step_ids, index.vectors):
        # step_texts() order: examples (the SOP's, then the reviewed lines), then the name row.
        rows[step_id] = np.vstack([own[:-1], *([np.asarray(vectors[step_id])] if step_id in vectors else []), own[-1:]])
    return index_from_vectors(sop, rows, params=MatchParams(), embedder=index.embedder)


def macro(calls: list[EvalCall], preds: dict[str, list[str | None]]) -> float:
    return float(evaluate([(c.gold_for(preds[c.id]), preds[c.id]) for c in calls], n_boot=0).macro_f1.value)


def paired(calls: list[EvalCall], a: dict, b: dict, n: int = 1000, seed: int = 7) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        sample = [calls[i] for i in rng.integers(0, len(calls), len(calls))]
        renamed = [(c, f"{c.id}#{k}") for k, c in enumerate(sample)]
        pa = {new: a[c.id] for c, new in renamed}
        pb = {new: b[c.id] for c, new in renamed}
        cs = [EvalCall(new, c.sop, c.split, c.language, c.utterances, c.stages, c.deviations) for c, new in renamed]
        diffs.append(macro(cs, pb) - macro(cs, pa))
    return macro(calls, b) - macro(calls, a), float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def run(calls: list[EvalCall], corpus: Corpus, weights_for, k: int) -> tuple[dict, dict]:
    base, with_reviews = {}, {}
    for sop in sorted({c.sop for c in calls}):
        group = [c for c in calls if c.sop == sop]
        prep = corpus.prep(group[0])
        index = prep.index_for(sop, MatchParams())
        params = MatchParams(emission_weights=tuple(float(w) for w in weights_for(group[0])))
        for c in group:
            others = [o for o in group if o.id != c.id][:k]
            for out, idx in ((base, index), (with_reviews, reviewed_index(index, prep, others))):
                res = match_call(c.utterances, idx, utterance_vectors=prep.vectors[c.id], params=params)
                out[c.id] = [lab.step_id for lab in res.labels]
    return base, with_reviews


def report(title: str, calls: list[EvalCall], base: dict, with_reviews: dict) -> None:
    for lang in ("en", "zh"):
        cs = [c for c in calls if c.language == lang]
        d, lo, hi = paired(cs, base, with_reviews)
        print(f"{title} {lang}: macro-F1 {macro(cs, base):.3f} → {macro(cs, with_reviews):.3f}  "
              f"difference {d:+.3f} [{lo:+.3f}, {hi:+.3f}]  ({len(cs)} calls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviewed", type=int, nargs=2, default=(7, 4), metavar=("EVAL", "HELDOUT"),
                        help="reviewed calls per SOP (at most the SOP's other calls)")
    args = parser.parse_args()
    corpus = Corpus.load()
    report(f"eval set, leave-one-SOP-out, {args.reviewed[0]} reviewed calls", corpus.hand,
           *run(corpus.hand, corpus, corpus.loso, args.reviewed[0]))
    report(f"held-out SOPs, shipped model, {args.reviewed[1]} reviewed calls", corpus.held,
           *run(corpus.held, corpus, corpus.shipped, args.reviewed[1]))


if __name__ == "__main__":
    main()
