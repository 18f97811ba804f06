"""Benchmark the SOP matcher on tests/fixtures/sop_eval with a real embedder, against baselines.

Parameters are chosen on the calls marked split=tune and the figures are reported on split=test
only. Baselines run in the same process on the same vectors:
  nearest-example  each utterance alone: the step of its most similar example, off-SOP below a
                   cosine threshold (threshold tuned on the tune split)
  emission-argmax  the matcher's calibrated emissions (speaker, keywords) without sequence decoding
  hmm-viterbi      the full matcher

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_match.py [--embedder e5|minilm|hashing]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sop.evaluation import EvalCall, EvalReport, evaluate, load_eval_set
from app.sop.loader import load_sop_file
from app.sop.matcher import (
    MatchParams,
    SopIndex,
    build_sop_index,
    index_from_vectors,
    match_call,
    step_texts,
)
from app.sop.schema import SopDefinition

GRID = {
    "calibration_alpha": [0.15, 0.3, 0.45],
    "off_sop_prob": [0.2, 0.3, 0.45],
    "back_penalty": [2.0, 3.0],
    "forward_penalty": [0.25, 0.5, 1.0],
    "start_anywhere": [True, False],
}


def load_embedder(name: str):
    """The named embedder; 'auto' prefers the rebuilt multilingual e5 and falls back to MiniLM."""
    from models.embedder import get_embedder

    if name != "auto":
        return get_embedder(name)
    try:
        return get_embedder("e5")
    except Exception as exc:  # noqa: BLE001 - e5 rebuild unavailable: MiniLM still gives an English figure
        print(f"e5 unavailable ({exc}); falling back to MiniLM (weak on Chinese)")
        return get_embedder("minilm")


def machine(embedder) -> str:
    """One line describing where the figures came from."""
    import torch

    cpu = platform.processor() or platform.machine()
    dev = getattr(embedder, "device", "cpu")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"{platform.node()} {platform.system()} {cpu}, {os.cpu_count()} cpus, torch {torch.__version__}, "
        f"embedder {embedder.name} on {dev}, gpu {gpu}"
    )


class Prepared:
    """Vectors for every call and SOP, embedded once."""

    def __init__(self, calls: list[EvalCall], embedder) -> None:
        self.calls = calls
        self.sops: dict[str, SopDefinition] = {}
        self.indexes: dict[str, SopIndex] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self._calibrated: dict[tuple, SopIndex] = {}
        t = time.perf_counter()
        for call in calls:
            if call.sop not in self.sops:
                self.sops[call.sop] = load_sop_file(str(ROOT / "sop_definitions" / call.sop))
                self.indexes[call.sop] = build_sop_index(self.sops[call.sop], embedder)
            self.vectors[call.id] = embedder.embed([u.text for u in call.utterances], kind="query")
        self.embed_seconds = time.perf_counter() - t
        self.n_texts = sum(len(c.utterances) for c in calls) + sum(
            len(step_texts(s)) for sop in self.sops.values() for _st, s in sop.steps()
        )

    def index_for(self, sop: str, params: MatchParams) -> SopIndex:
        """The SOP index calibrated with these params (calibration depends on alpha, sharpness, top_k)."""
        key = (sop, params.top_k, params.calibration_alpha, params.calibration_sharpness)
        if key not in self._calibrated:
            base = self.indexes[sop]
            vectors = dict(zip(base.step_ids, base.vectors))
            self._calibrated[key] = index_from_vectors(base.sop, vectors, params=params)
        return self._calibrated[key]

    def predict(self, call: EvalCall, params: MatchParams) -> list[str | None]:
        index = self.index_for(call.sop, params)
        res = match_call(
            call.utterances, index, utterance_vectors=self.vectors[call.id], params=params
        )
        return [lab.step_id for lab in res.labels]

    def nearest_example(self, call: EvalCall, threshold: float) -> list[str | None]:
        index = self.indexes[call.sop]
        sims = np.stack([(self.vectors[call.id] @ v.T).max(axis=1) for v in index.vectors], axis=1)
        best = sims.argmax(axis=1)
        return [index.step_ids[b] if sims[t, b] >= threshold else None for t, b in enumerate(best)]


def score(prep: Prepared, calls: list[EvalCall], predict) -> EvalReport:
    return evaluate([(c.gold, predict(c)) for c in calls], n_boot=2000, seed=7)


def tune(prep: Prepared, tune_calls: list[EvalCall]) -> tuple[MatchParams, MatchParams, float]:
    """Best HMM params, best argmax params and nearest-example threshold on the tune split (by accuracy)."""
    best_hmm = best_arg = (-1.0, MatchParams())
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        p = replace(MatchParams(), **dict(zip(keys, values)))
        acc = _acc(prep, tune_calls, lambda c, p=p: prep.predict(c, p))
        best_hmm = max(best_hmm, (acc, p), key=lambda x: x[0])
        if (p.back_penalty, p.forward_penalty, p.start_anywhere) == (
            GRID["back_penalty"][0],
            GRID["forward_penalty"][0],
            GRID["start_anywhere"][0],
        ):  # transitions do not matter to argmax decoding
            pa = replace(p, decode="argmax")
            best_arg = max(
                best_arg,
                (_acc(prep, tune_calls, lambda c, pa=pa: prep.predict(c, pa)), pa),
                key=lambda x: x[0],
            )
    thresholds = np.linspace(0.0, 1.0, 101)
    accs = [
        _acc(prep, tune_calls, lambda c, th=th: prep.nearest_example(c, th)) for th in thresholds
    ]
    return best_hmm[1], best_arg[1], float(thresholds[int(np.argmax(accs))])


def _acc(prep: Prepared, calls: list[EvalCall], predict) -> float:
    ok = total = 0
    for c in calls:
        pred = predict(c)
        ok += sum(g == p for g, p in zip(c.gold, pred))
        total += len(pred)
    return ok / total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", default="auto")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    calls = load_eval_set(ROOT / "tests" / "fixtures" / "sop_eval")
    tune_calls = [c for c in calls if c.split == "tune"]
    test_calls = [c for c in calls if c.split == "test"]
    embedder = load_embedder(args.embedder)
    prep = Prepared(calls, embedder)
    print(f"machine: {machine(embedder)}")
    print(f"embedded {prep.n_texts} texts in {prep.embed_seconds:.1f}s")
    print(
        f"tuned on {len(tune_calls)} calls ({', '.join(c.id for c in tune_calls)}); "
        f"reported on {len(test_calls)} held-out calls ({', '.join(c.id for c in test_calls)})"
    )
    hmm_p, arg_p, thr = tune(prep, tune_calls)
    print(
        f"chosen on tune split: hmm {_brief(hmm_p)}; argmax {_brief(arg_p)}; nearest-example cosine ≥ {thr:.2f}"
    )
    systems = {
        "nearest-example": lambda c: prep.nearest_example(c, thr),
        "emission-argmax": lambda c: prep.predict(c, arg_p),
        "hmm-viterbi": lambda c: prep.predict(c, hmm_p),
    }
    groups = {
        "all test": test_calls,
        "test en": [c for c in test_calls if c.language == "en"],
        "test zh": [c for c in test_calls if c.language == "zh"],
    }
    print("\nfigures: value [95% CI, bootstrap over calls, 2000 resamples]")
    for gname, group in groups.items():
        n_utt = sum(len(c.utterances) for c in group)
        print(f"\n== {gname}: {len(group)} calls, {n_utt} utterances")
        print(
            f"{'system':<17} {'accuracy':<24} {'macro-F1 (steps)':<24} {'presence P':<24} {'presence R':<24}"
        )
        for name, fn in systems.items():
            r = score(prep, group, fn)
            print(
                f"{name:<17} {r.accuracy!s:<24} {r.macro_f1!s:<24} "
                f"{r.presence_precision!s:<24} {r.presence_recall!s:<24}"
            )
    t = time.perf_counter()
    for c in test_calls:
        prep.predict(c, hmm_p)
    n = sum(len(c.utterances) for c in test_calls)
    print(
        f"\ndecode time (hmm, excluding embedding): {1000 * (time.perf_counter() - t) / len(test_calls):.1f} ms/call, {n} utterances"
    )


def _brief(p: MatchParams) -> str:
    return (
        f"alpha={p.calibration_alpha} off_sop_prob={p.off_sop_prob} back={p.back_penalty} "
        f"forward={p.forward_penalty} start_anywhere={p.start_anywhere}"
    )


if __name__ == "__main__":
    main()
