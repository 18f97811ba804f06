"""Benchmark SOP matching speed: one long call against a big SOP, and re-matching stored calls.

Run: .venv/bin/python bench/match.py [--utterances 600] [--steps 60] [--calls 300]

1. Matching a 600-utterance call against a 60-step SOP after embeddings (issue target ≤ 50 ms):
   the matcher (emissions + Viterbi + posteriors) and the comparison, timed over repeats, with
   the SOP index (built once per SOP version) timed separately. Vectors are random unit vectors
   (clustered per step) — speed does not depend on their meaning — at e5's 384 dimensions (the
   Chinese and search configuration) and e5 + mpnet's 1,152 (English matching), each with its
   shipped emission model.
2. Re-matching stored calls the way a new SOP version does (`sop.rematch` per call: load the
   utterances and their stored vectors from the database, match, compare, write the result):
   measured on --calls real rows in a temporary SQLite database, then extrapolated to 10,000 —
   the extrapolation is printed as such.
3. Rebuilding a SOP's index after a review (the matcher learns reviewed lines as examples), with the
   process's embedder (e5 by default, --embedder): the shipped project-sales SOP with --reviewed
   lines per step, then again after one more reviewed line — with the memo of embedded texts
   (app/sop/matching.sop_index) and, as the baseline in the same run, without it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DIM = 384


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return f"machine: {cpu}, {os.cpu_count()} cores, python {platform.python_version()}, numpy {np.__version__}, load {os.getloadavg()[0]:.1f}"


def big_sop(n_steps: int):  # type: ignore[no-untyped-def]
    from app.sop.schema import SopDefinition

    stages = []
    per_stage = 6
    for s in range(n_steps // per_stage):
        steps = [{"id": f"s{s}-step{k}", "name": f"Step {s}.{k}", "speaker": "rep" if k % 3 else "any",
                  "required": k % 2 == 0, "examples": [f"example {j} of step {s}.{k}" for j in range(6)]}
                 for k in range(per_stage)]
        stages.append({"id": f"stage{s}", "name": f"Stage {s}", "steps": steps})
    return SopDefinition.model_validate({"id": "bench", "version": 1, "name": "Bench SOP", "language": "en",
                                         "stages": stages})


def clustered_vectors(rng: np.random.Generator, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    v = centres[labels] + 0.35 * rng.standard_normal((len(labels), centres.shape[1]))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def bench_one_call(n_utt: int, n_steps: int, repeat: int) -> None:
    from app.sop.emission import shipped_models

    for embedder in shipped_models():
        dim = 1152 if "mpnet" in embedder else DIM
        print(f"-- {embedder} ({dim} dimensions)")
        _bench_one_call(n_utt, n_steps, repeat, dim, embedder)


def _bench_one_call(n_utt: int, n_steps: int, repeat: int, dim: int, embedder: str) -> None:
    from app.sop.compare import compare_path
    from app.sop.matcher import MatchParams, index_from_vectors, match_call
    from app.transcripts.formats import Utterance

    rng = np.random.default_rng(0)
    sop = big_sop(n_steps)
    steps = [s.id for _st, s in sop.steps()]
    centres = rng.standard_normal((len(steps), dim))
    examples = {sid: clustered_vectors(rng, centres, np.full(7, i)) for i, sid in enumerate(steps)}
    t0 = time.perf_counter()
    # Named as a shipped embedder, so the default (learned) emissions run, as in production.
    index = index_from_vectors(sop, examples, embedder=embedder)
    build = time.perf_counter() - t0
    truth = np.sort(rng.integers(0, len(steps), n_utt))
    vectors = clustered_vectors(rng, centres, truth)
    utterances = [Utterance(i, "Rep" if i % 2 == 0 else "Customer", "rep" if i % 2 == 0 else "customer",
                            i * 5.0, i * 5.0 + 4.5, f"utterance {i}") for i in range(n_utt)]
    print(f"SOP index build ({len(steps)} steps, once per SOP version): {build * 1000:.0f} ms")
    for label, params in (("learned emissions (default)", MatchParams()),
                          ("blend emissions (baseline, no learned model)", MatchParams(emission="blend"))):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = match_call(utterances, index, utterance_vectors=vectors, params=params)
            compare_path(result, sop, utterances)
            times.append(time.perf_counter() - t0)
        print(f"match + compare, {n_utt} utterances x {len(steps)} steps, {label}: median "
              f"{statistics.median(times) * 1000:.1f} ms, best {min(times) * 1000:.1f} ms over {repeat} runs"
              " (target <= 50 ms)")


def bench_rematch(n_calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TALKTRACK_VAR_DIR"] = tmp
        os.environ["TALKTRACK_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
        os.environ["TALKTRACK_EMBEDDER"] = "hashing"
        import app.model_registry  # noqa: F401
        from app.calls.models import Call
        from app.db import Base, get_engine, session_scope
        from app.sop import service as sop_service
        from app.transcripts import service as transcripts_service
        from app.transcripts.formats import parse_transcript
        from models.embedder import get_embedder

        Base.metadata.create_all(get_engine())
        text = (REPO / "tests/fixtures/transcripts/en_discovery.json").read_bytes()
        utterances = list(parse_transcript(text).utterances)
        vectors = get_embedder("hashing").embed([u.text for u in utterances], kind="query")
        with session_scope() as session:
            sop_service.save_sop(session=session, text=(REPO / "sop_definitions/b2b-discovery.en.yaml").read_text(),
                                 source="b2b-discovery.en.yaml")
            for i in range(n_calls):
                call = Call(sha256=f"{i:064x}", source_kind="transcript", source_format="json", media_path="x",
                            size_bytes=1, status="ready", sop_id="b2b-discovery", language="en")
                session.add(call)
                session.flush()
                rows = transcripts_service.replace_utterances(session=session, call_id=call.id, utterances=utterances)
                transcripts_service.store_embeddings(session=session, call_id=call.id, utterance_ids=[r.id for r in rows],
                                                     vectors=vectors, model="hashing-256")
        from workers.match import rematch_call

        rematch_call(1)  # warm: SOP index built once per process
        t0 = time.perf_counter()
        for call_id in range(2, n_calls + 1):
            rematch_call(call_id)
        per_call = (time.perf_counter() - t0) / (n_calls - 1)
        print(f"re-match stored calls ({len(utterances)} utterances each, SQLite, one worker): "
              f"{per_call * 1000:.1f} ms per call measured on {n_calls - 1} calls")
        print(f"  → 10,000 calls: {per_call * 10_000 / 60:.1f} min for one worker (extrapolated from the measurement); "
              f"N workers divide it")


def bench_review_rebuild(embedder_name: str, per_step: int) -> None:
    from app import ml
    from app.sop import matching
    from app.sop.loader import load_sop_file, sop_hash
    from app.sop.matcher import build_sop_index
    from app.sop.models import SopVersion
    from app.sop.review import with_examples

    embedder = ml.get_embedder(embedder_name)
    sop = load_sop_file(str(REPO / "sop_definitions" / "project-sales-8-stage.zh.yaml"))
    steps = [step for _stage, step in sop.steps()]
    lines = {s.id: tuple(f"{s.name}：复核过的第{i}句，客户这样说" for i in range(per_step)) for s in steps}
    more = {**lines, steps[0].id: (*lines[steps[0].id], "又一条复核过的句子")}
    row = SopVersion(sop_id=sop.id, version=1, definition=sop.model_dump(mode="json"), content_hash=sop_hash(sop))
    embedder.embed(["warm up"], kind="query")
    t = time.perf_counter()
    matching.sop_index(sop, row, embedder, lines)
    first = time.perf_counter() - t
    t = time.perf_counter()
    matching.sop_index(sop, row, embedder, more)
    memo = time.perf_counter() - t
    t = time.perf_counter()
    build_sop_index(with_examples(sop, more), embedder)  # the baseline: every text embedded again
    plain = time.perf_counter() - t
    texts = sum(len(s.examples) + 1 for s in steps) + per_step * len(steps) + 1
    print(f"SOP index after a review ({len(steps)} steps, {per_step} reviewed lines per step, {texts} texts, "
          f"embedder {embedder.name}): first build {first:.2f} s; after one more reviewed line "
          f"{memo:.2f} s with the memo vs {plain:.2f} s without (baseline, same run)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=600)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--embedder", default="e5", help="for the index rebuild after a review")
    parser.add_argument("--reviewed", type=int, default=30, help="reviewed lines per step (the default cap)")
    args = parser.parse_args()
    print(machine())
    bench_one_call(args.utterances, args.steps, args.repeat)
    bench_rematch(args.calls)
    bench_review_rebuild(args.embedder, args.reviewed)


if __name__ == "__main__":
    main()
