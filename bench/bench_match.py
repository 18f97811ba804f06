"""Benchmark the SOP matcher with a real embedder against baselines, under a fixed protocol.

Protocol (also in app/sop/evaluation.py):
  TUNE    demo_data/generated/ (seeded, template-based corpus; truth.jsonl gives each turn's step).
          Every parameter below is chosen there, by per-utterance accuracy.
  REPORT  all hand-written calls of tests/data/sop_eval/, never tuned on; 95% intervals
          from a bootstrap over calls, per language. Figures on the tuning corpus are printed too,
          labelled in-sample.
Systems, all on the same cached vectors in the same run:
  nearest-example   each utterance alone: the step of its most similar example, off-SOP below a
                    cosine threshold (threshold tuned)
  legacy-defaults   the previous matcher as shipped (similarity emissions + Viterbi, old defaults)
  sim-argmax        calibrated-similarity emissions, no sequence (tuned)
  sim-viterbi       calibrated-similarity emissions + Viterbi (tuned)
  clf-argmax        per-SOP classifier emissions, no sequence (tuned)
  clf-viterbi       per-SOP classifier emissions + Viterbi (tuned) = the new default

Embeddings of all texts are cached in var/cache/sop-bench-<model>.npz (keyed by kind + text hash),
so a second run spends its time tuning, not embedding.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_match.py [--embedder e5|use|e5+use|minilm]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.sop.evaluation import (
    EvalCall,
    EvalReport,
    evaluate,
    load_eval_set,
    load_generated_corpus,
)
from app.sop.loader import load_sop_file
from app.sop.matcher import (
    MatchParams,
    SopIndex,
    build_sop_index,
    index_from_vectors,
    match_call,
)
from app.sop.schema import SopDefinition

CACHE = ROOT / "var" / "cache"
# Coordinate-descent search space (values tried for one parameter while the others stay fixed).
SPACE: dict[str, list[Any]] = {
    "classifier_c": [0.03, 0.1, 0.3, 1.0, 3.0],
    "classifier_weight": [0.25, 0.5, 1.0, 2.0],
    "emission": ["classifier", "blend"],
    "calibration_alpha": [0.15, 0.3, 0.45, 0.6],
    "off_sop_prob": [0.1, 0.2, 0.3, 0.45, 0.6],
    "forward_penalty": [0.25, 0.5, 1.0, 2.0],
    "skip_penalty": [0.25, 0.5, 1.0],
    "max_skip_penalty": [3.0, 6.0, 10.0],
    "back_penalty": [1.0, 2.0, 3.0, 5.0],
    "off_enter_penalty": [0.5, 1.0, 2.0],
    "start_anywhere": [True, False],
    "start_penalty": [0.25, 0.5, 1.0, 2.0],
    "speaker_mismatch_penalty": [1.5, 3.0, 5.0],
}
SIM_KEYS = [k for k in SPACE if not k.startswith("classifier") and k != "emission"]
ARGMAX_KEYS = [
    "classifier_c",
    "classifier_weight",
    "emission",
    "calibration_alpha",
    "off_sop_prob",
    "speaker_mismatch_penalty",
]
# The matcher as shipped before the classifier (its defaults, spelled out since they changed).
LEGACY = MatchParams(
    emission="similarity", top_k=2, calibration_alpha=0.45, calibration_sharpness=4.0,
    off_sop_prob=0.3, speaker_mismatch_penalty=3.0, keyword_bonus=0.75, forward_penalty=0.5,
    skip_penalty=0.5, max_skip_penalty=3.0, back_penalty=3.0, off_enter_penalty=1.0,
    start_anywhere=True,
)  # fmt: skip
DEFAULT_PARAMS = MatchParams()  # what match_call uses when given no params


MODEL_NAMES = {
    "e5": "multilingual-e5-small", "minilm": "all-MiniLM-L6-v2", "use": "use-multilingual-v3", "mpnet": "all-mpnet-base-v2"
}


class CachedEmbedder:
    """An embedder whose vectors persist in an .npz keyed by model name + kind + text hash."""

    def __init__(self, name: str, load: Callable[[], Any]) -> None:
        # The model's own name (what a SopIndex records); the cache file keeps the short spec.
        self.name = MODEL_NAMES.get(name, name)
        self._load = load
        self._model: Any = None
        self.path = CACHE / f"sop-bench-{name.replace('/', '_')}.npz"
        self._vecs: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self._vecs = dict(zip(data["keys"].tolist(), data["vectors"]))
        self.embed_seconds = 0.0
        self.embedded = 0

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return hashlib.sha1(f"{kind}\0{text}".encode()).hexdigest()

    def embed(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32):
        keys = [self._key(kind, t) for t in texts]
        todo = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self._vecs))
        if todo:
            if self._model is None:
                self._model = self._load()
            t0 = time.perf_counter()
            new = self._model.embed(todo, kind=kind)
            self.embed_seconds += time.perf_counter() - t0
            self.embedded += len(todo)
            for t, v in zip(todo, new):
                self._vecs[self._key(kind, t)] = np.asarray(v, np.float32)
            self._save()
        return np.stack([self._vecs[k] for k in keys])

    def _save(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vecs))
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=np.stack([self._vecs[k] for k in keys]))
        tmp.replace(self.path)


class Concat:
    """Cached parts side by side, rescaled to unit length (models.embedder.ConcatEmbedder's maths)."""

    def __init__(self, parts: list[CachedEmbedder]) -> None:
        self.parts = parts
        self.name = "+".join(p.name for p in parts)

    def embed(self, texts: Sequence[str], *, kind: str = "query", batch_size: int = 32):
        out = np.hstack([p.embed(texts, kind=kind) for p in self.parts])
        return (out / np.sqrt(len(self.parts))).astype(np.float32)


def cached_embedder(spec: str) -> Any:
    """'e5', 'use', 'minilm' or 'a+b' ensembles, each part cached on disk."""
    from models.embedder import get_embedder

    def one(name: str) -> CachedEmbedder:
        return CachedEmbedder(name, lambda: get_embedder(name))

    parts = [one(p) for p in spec.split("+")]
    return parts[0] if len(parts) == 1 else Concat(parts)


def machine(spec: str) -> str:
    """One line describing where the figures came from."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.node()} {platform.system()} {cpu}, {os.cpu_count()} cpus, embedder {spec} on cpu"


class Prepared:
    """Vectors for every call and SOP, embedded (or read from the cache) once."""

    def __init__(self, calls: list[EvalCall], embedder: Any, sop_dirs: Sequence[Path] = (ROOT / "sop_definitions",)) -> None:
        self.sops: dict[str, SopDefinition] = {}
        self.base: dict[str, SopIndex] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self._indexes: dict[tuple, SopIndex] = {}
        self.embedder_name: str = embedder.name
        for call in calls:
            if call.sop not in self.sops:
                path = next((d / call.sop for d in sop_dirs if (d / call.sop).exists()), sop_dirs[0] / call.sop)
                self.sops[call.sop] = load_sop_file(str(path))
                self.base[call.sop] = build_sop_index(self.sops[call.sop], embedder, params=LEGACY)
            self.vectors[call.id] = embedder.embed([u.text for u in call.utterances], kind="query")

    def index_for(self, sop: str, p: MatchParams) -> SopIndex:
        """The SOP index for these params (calibration and classifier depend on some of them)."""
        key = (
            sop,
            p.top_k,
            p.calibration_alpha,
            p.calibration_sharpness,
            p.emission != "similarity",
            p.classifier_c,
        )
        if key not in self._indexes:
            base = self.base[sop]
            vectors = dict(zip(base.step_ids, base.vectors))
            self._indexes[key] = index_from_vectors(base.sop, vectors, params=p, embedder=base.embedder)
        return self._indexes[key]

    def predict(self, call: EvalCall, p: MatchParams) -> list[str | None]:
        res = match_call(
            call.utterances,
            self.index_for(call.sop, p),
            utterance_vectors=self.vectors[call.id],
            params=p,
        )
        return [lab.step_id for lab in res.labels]

    def nearest_example(self, call: EvalCall, threshold: float) -> list[str | None]:
        index = self.base[call.sop]
        sims = np.stack([(self.vectors[call.id] @ v.T).max(axis=1) for v in index.vectors], axis=1)
        best = sims.argmax(axis=1)
        return [index.step_ids[b] if sims[t, b] >= threshold else None for t, b in enumerate(best)]


def accuracy(calls: list[EvalCall], predict: Callable[[EvalCall], list[str | None]]) -> float:
    ok = total = 0
    for c in calls:
        pred = predict(c)
        ok += sum(g == p for g, p in zip(c.gold_for(pred), pred))
        total += len(pred)
    return ok / total


def report(calls: list[EvalCall], predict: Callable[[EvalCall], list[str | None]]) -> EvalReport:
    pairs = []
    for c in calls:
        pred = predict(c)
        pairs.append((c.gold_for(pred), pred))
    return evaluate(pairs, n_boot=2000, seed=7)


def coordinate_descent(
    prep: Prepared, calls: list[EvalCall], start: MatchParams, keys: list[str], rounds: int = 2
) -> tuple[MatchParams, float]:
    """Best params on `calls`: each key in turn over its SPACE values, the rest fixed; `rounds` passes."""
    best = start
    best_acc = accuracy(calls, lambda c: prep.predict(c, best))
    for _ in range(rounds):
        changed = False
        for key in keys:
            for value in SPACE[key]:
                if getattr(best, key) == value:
                    continue
                cand = replace(best, **{key: value})
                acc = accuracy(calls, lambda c, cand=cand: prep.predict(c, cand))
                if acc > best_acc + 1e-9:
                    best, best_acc, changed = cand, acc, True
        if not changed:
            break
    return best, best_acc


def tune(prep: Prepared, calls: list[EvalCall]) -> dict[str, Any]:
    """Every system's settings, chosen on the tuning corpus only."""
    thresholds = np.linspace(0.0, 1.0, 101)
    accs = [accuracy(calls, lambda c, th=th: prep.nearest_example(c, th)) for th in thresholds]
    sim_arg, _ = coordinate_descent(
        prep,
        calls,
        replace(LEGACY, decode="argmax"),
        ["calibration_alpha", "off_sop_prob", "speaker_mismatch_penalty"],
    )
    sim_hmm, _ = coordinate_descent(prep, calls, LEGACY, SIM_KEYS)
    clf_arg, _ = coordinate_descent(
        prep, calls, replace(DEFAULT_PARAMS, decode="argmax"), ARGMAX_KEYS
    )
    clf_hmm, _ = coordinate_descent(prep, calls, DEFAULT_PARAMS, list(SPACE))
    return {
        "threshold": float(thresholds[int(np.argmax(accs))]),
        "sim-argmax": sim_arg,
        "sim-viterbi": sim_hmm,
        "clf-argmax": clf_arg,
        "clf-viterbi": clf_hmm,
    }


def print_table(title: str, calls: list[EvalCall], systems: dict[str, Callable]) -> None:
    n_utt = sum(len(c.utterances) for c in calls)
    print(f"\n== {title}: {len(calls)} calls, {n_utt} utterances")
    print(
        f"{'system':<16} {'accuracy':<24} {'macro-F1 (steps)':<24} {'presence P':<24} {'presence R':<24}"
    )
    for name, fn in systems.items():
        r = report(calls, fn)
        print(
            f"{name:<16} {r.accuracy!s:<24} {r.macro_f1!s:<24} "
            f"{r.presence_precision!s:<24} {r.presence_recall!s:<24}"
        )


def diff(p: MatchParams, base: MatchParams = DEFAULT_PARAMS) -> str:
    """Fields where p differs from `base`."""
    return (
        ", ".join(
            f"{k}={getattr(p, k)}"
            for k in p.__dataclass_fields__
            if getattr(p, k) != getattr(base, k)
        )
        or "(same)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--embedder", default="e5", help="e5, use, minilm, or an ensemble such as e5+use"
    )
    parser.add_argument(
        "--no-tune", action="store_true", help="report the shipped defaults without tuning"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sop_files = {
        load_sop_file(str(p)).id: p.name for p in sorted((ROOT / "sop_definitions").glob("*.yaml"))
    }
    tune_calls = load_generated_corpus(ROOT / "demo_data" / "generated", sop_files)
    report_calls = load_eval_set(ROOT / "tests" / "data" / "sop_eval")
    embedder = cached_embedder(args.embedder)
    t0 = time.perf_counter()
    prep = Prepared(tune_calls + report_calls, embedder)
    parts = getattr(embedder, "parts", [embedder])
    print(f"machine: {machine(args.embedder)}")
    print(
        f"vectors ready in {time.perf_counter() - t0:.1f}s; newly embedded "
        + ", ".join(f"{p.name}: {p.embedded} texts in {p.embed_seconds:.1f}s" for p in parts)
        + f" (cache {CACHE.relative_to(ROOT)})"
    )
    print(
        f"protocol: TUNE on {len(tune_calls)} generated calls (demo_data/generated, template-based); "
        f"REPORT on all {len(report_calls)} hand-written calls of tests/data/sop_eval (never tuned on)"
    )
    t0 = time.perf_counter()
    if args.no_tune:
        chosen = {
            "threshold": 0.0, "sim-argmax": replace(LEGACY, decode="argmax"), "sim-viterbi": LEGACY,
            "clf-argmax": replace(DEFAULT_PARAMS, decode="argmax"), "clf-viterbi": DEFAULT_PARAMS,
        }  # fmt: skip
    else:
        chosen = tune(prep, tune_calls)
    print(f"tuning took {time.perf_counter() - t0:.0f}s; chosen on the tuning corpus:")
    print(f"  nearest-example cosine >= {chosen['threshold']:.2f}")
    for name in ("sim-argmax", "sim-viterbi", "clf-argmax", "clf-viterbi"):
        print(f"  {name}: {diff(chosen[name])}")
    print(f"  shipped defaults vs legacy: {diff(DEFAULT_PARAMS, LEGACY)}")
    systems: dict[str, Callable] = {
        "nearest-example": lambda c: prep.nearest_example(c, chosen["threshold"]),
        "legacy-defaults": lambda c: prep.predict(c, LEGACY),
        **{
            k: (lambda c, p=chosen[k]: prep.predict(c, p))
            for k in ("sim-argmax", "sim-viterbi", "clf-argmax", "clf-viterbi")
        },
        "shipped-default": lambda c: prep.predict(c, DEFAULT_PARAMS),
    }
    print("\nfigures: value [95% CI, bootstrap over calls, 2000 resamples]")
    print_table("REPORT all (hand-written, held out)", report_calls, systems)
    for lang in ("en", "zh"):
        print_table(f"REPORT {lang}", [c for c in report_calls if c.language == lang], systems)
    for lang in ("en", "zh"):
        print_table(
            f"TUNING corpus {lang} (IN-SAMPLE: parameters chosen here)",
            [c for c in tune_calls if c.language == lang],
            systems,
        )
    t = time.perf_counter()
    for c in report_calls:
        prep.predict(c, DEFAULT_PARAMS)
    n = sum(len(c.utterances) for c in report_calls)
    print(
        f"\ndecode time (shipped default, excluding embedding): "
        f"{1000 * (time.perf_counter() - t) / len(report_calls):.1f} ms/call, {n} utterances"
    )


if __name__ == "__main__":
    main()
