"""Benchmark the library's HybridIndex at scale: build, memory, latency, recall@10.

Run: .venv/bin/python bench/search.py [--n 1000000] [--queries 200]

Builds the real HybridIndex (usearch HNSW + inverted-index BM25, RRF fusion) over n snippets:
unit 384-dim vectors clustered like sentence embeddings (bench_search.make_vectors: topic
centres, a low-rank within-topic subspace, noise), generated in chunks to bound memory, and
short sales texts (70% English, 30% Chinese) drawn from a seeded generator with Zipfian word
frequencies, so BM25 posting lists have the usual few very long and many short lists.

Reports: build time (total, tokenising, keyword postings, vectors), peak RSS, p50/p95/p99 of
one query at a time for semantic-only (a query text with no indexed word: BM25 costs nothing),
keyword-only (no query vector) and hybrid search, k=10, plus a filtered hybrid search; and
recall@10 of the semantic ranking against exact search (numpy brute force, streamed over the
chunks as they are generated), with an expansion_search sweep. Baselines in the same run:
exact vector search (usearch exact=True) and dense BM25 (scoring every document, as before).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import DIM, machine, make_space, make_vectors

import app.library.index as index_module
from app.library.index import CANDIDATE_DEPTH, HybridIndex, IndexDoc

K = 10
P95_TARGET_MS = 50.0
RECALL_TARGET = 0.95
# Sales words in frequency order (most common first); product, company and feature names are
# appended as made-up words, to a vocabulary of a few thousand.
EN_WORDS = """
price budget team demo call contract quote discount pricing week month year seat license user
customer integration support onboarding rollout timeline decision approval procurement legal
security compliance vendor competitor cheaper expensive value cost saving roi renewal trial
pilot meeting schedule follow email proposal feature report dashboard data export import api
crm salesforce hubspot slack teams zoom manager director vp cfo cto champion stakeholder sign
quarter q1 q2 q3 q4 deadline migration training adoption usage seats tier plan annual monthly
invoice payment terms net30 sso audit gdpr soc2 encryption uptime sla performance speed scale
growth pipeline forecast deal stage close won lost risk concern objection question
implementation partner reseller reference case study customer success renewal churn upsell
""".split()  # noqa: SIM905
ZH_WORDS = """
价格 预算 团队 演示 合同 报价 折扣 采购 审批 决策 领导 老板 财务 法务 安全 合规 供应商 竞争对手 便宜 太贵 性价比 成本 节省 回报 续约 试用 会议 安排 跟进 邮件
方案 功能 报表 数据 导出 接口 系统 集成 培训 上线 实施 周期 季度 月底 年底 付款 发票 账号 权限 客服 售后 服务 效果 案例 客户 销售 线索 商机 签约 考虑 比较 预计
时间 流程 需求 痛点 问题 担心 风险 支持 部署 私有化 云端 稳定 速度
""".split()  # noqa: SIM905
EN_FILLERS = "we the a to is for our you can that this it of and".split()  # noqa: SIM905


def zipf_probabilities(n: int, s: float = 1.07, q: float = 2.7) -> np.ndarray:
    """Zipf-Mandelbrot word probabilities p(rank) ~ 1 / (rank + q)^s."""
    p = 1.0 / (np.arange(1, n + 1) + q) ** s
    return p / p.sum()


def made_up_words(n: int, rng: np.random.Generator) -> list[str]:
    """Pronounceable product / company names (velorix, tamboq, ...), distinct."""
    cons, vows = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < n:
        k = int(rng.integers(2, 4))
        words.add("".join(rng.choice(list(cons)) + rng.choice(list(vows)) for _ in range(k)) + "x")
    return sorted(words)


class TextGen:
    """Seeded short sales texts: English words or jieba-segmentable Chinese words, Zipfian."""

    def __init__(self, seed: int, en_vocab: int = 4000) -> None:
        rng = np.random.default_rng(seed)
        self.en = np.array(EN_WORDS + made_up_words(en_vocab - len(EN_WORDS), rng))
        self.zh = np.array(ZH_WORDS)
        self.p_en, self.p_zh = zipf_probabilities(len(self.en)), zipf_probabilities(len(self.zh))

    def texts(self, n: int, rng: np.random.Generator, lo: int = 6, hi: int = 18) -> list[str]:
        """n snippets; 30% Chinese. English gets filler stopwords the tokenizer drops."""
        lengths = rng.integers(lo, hi, size=n)
        chinese = rng.random(n) < 0.3
        en = self.en[rng.choice(len(self.en), size=int(lengths.sum()), p=self.p_en)]
        zh = self.zh[rng.choice(len(self.zh), size=int(lengths.sum()), p=self.p_zh)]
        fill = np.array(EN_FILLERS)[rng.integers(0, len(EN_FILLERS), size=int(lengths.sum()))]
        out, at = [], 0
        for length, is_zh in zip(lengths.tolist(), chinese.tolist(), strict=True):
            if is_zh:
                out.append("".join(zh[at : at + length // 2 + 1]) + "。")
            else:
                words = [f"{f} {w}" if i % 3 == 0 else w
                         for i, (f, w) in enumerate(zip(fill[at : at + length], en[at : at + length]))]  # fmt: skip
                out.append(" ".join(words).capitalize() + ".")
            at += length
        return out

    def queries(self, n: int, rng: np.random.Generator) -> list[str]:
        """Short search queries (2-4 words) from the same distributions."""
        return self.texts(n, rng, lo=2, hi=5)


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return f"p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  p99 {p99:7.2f} ms"


def timed(run: Callable[[int], object], n: int) -> list[float]:
    """Latency of run(i) for i in range(n), one call at a time."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return times


def rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB."""
    current = 0.0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timers:
    """Wraps the index's tokenizer and the BM25 add, so one add() is split into its parts."""

    def __init__(self, index: HybridIndex) -> None:
        self.tokenize = self.keywords = 0.0
        original_tokenize, bm25 = index_module.tokenize, index._bm25
        original_add = bm25.add_many

        def tokenize(text: str) -> list[str]:
            start = time.perf_counter()
            try:
                return original_tokenize(text)
            finally:
                self.tokenize += time.perf_counter() - start

        def add_many(*args: object) -> None:
            start = time.perf_counter()
            original_add(*args)  # type: ignore[arg-type]
            self.keywords += time.perf_counter() - start

        index_module.tokenize = tokenize  # type: ignore[assignment]
        bm25.add_many = add_many  # type: ignore[method-assign]


def update_top(best: tuple[np.ndarray, np.ndarray], scores: np.ndarray, offset: int) -> tuple:
    """Merge a chunk's exact scores (queries x chunk) into the running top K per query."""
    ids = np.broadcast_to(np.arange(offset, offset + scores.shape[1]), scores.shape)
    all_scores = np.concatenate([best[0], scores], axis=1)
    all_ids = np.concatenate([best[1], ids], axis=1)
    keep = np.argpartition(-all_scores, K - 1, axis=1)[:, :K]
    return np.take_along_axis(all_scores, keep, 1), np.take_along_axis(all_ids, keep, 1)


def build(
    args: argparse.Namespace, index: HybridIndex, query_vectors: np.ndarray, query_langs: list[str]
) -> tuple:
    """Add n snippets chunk by chunk; return (timings, exact top-K ids per query).

    The ground truth is exact cosine in the space the index searches: vectors centred on their
    language's mean (app.library.centring), set from the first chunk and frozen after it.
    """
    rng = np.random.default_rng(args.seed)
    space = make_space(rng)
    gen = TextGen(args.seed)
    timers = Timers(index)
    best = (
        np.full((len(query_vectors), K), -np.inf, np.float32),
        np.zeros((len(query_vectors), K), np.int64),
    )
    total = exact = 0.0
    centres: dict[str, np.ndarray] = {}
    for offset in range(0, args.n, args.chunk):
        size = min(args.chunk, args.n - offset)
        chunk_rng = np.random.default_rng([args.seed, offset])
        vectors = make_vectors(size, chunk_rng, space)
        texts = gen.texts(size, chunk_rng)
        langs = [language(t) for t in texts]
        docs = [IndexDoc(offset + i, t, lang, v)
                for i, (t, lang, v) in enumerate(zip(texts, langs, vectors, strict=True))]  # fmt: skip
        start = time.perf_counter()
        index.add(docs)
        total += time.perf_counter() - start
        start = time.perf_counter()
        centred = index.centred(query_vectors, query_langs) @ index.centred(vectors, langs).T
        best = update_top(best, centred, offset)
        exact += time.perf_counter() - start
        if offset == 0:
            centres = index.centres
        done = offset + size
        print(f"  {done:>9,} added  {total:7.1f} s  (tokenize {timers.tokenize:6.1f} s, "
              f"keywords {timers.keywords:5.1f} s)  rss {rss_mib()[0]:7.0f} MiB  "
              f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    if any(not np.array_equal(c, centres.get(lang)) for lang, c in index.centres.items()):
        print("WARNING: language centres changed after the first chunk: recall is not exact")
    start = time.perf_counter()
    index.optimize()
    postings = time.perf_counter() - start
    order = np.argsort(-best[0], axis=1)
    truth = np.take_along_axis(best[1], order, 1)
    return {"total": total, "tokenize": timers.tokenize, "keywords": timers.keywords,
            "postings": postings, "exact_scan": exact}, truth  # fmt: skip


class _Inline:
    """Runs a submitted call at once in the caller's thread (the baseline for the parallel halves)."""

    def submit(self, fn: Callable[..., object], *args: object) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def sequential(run: Callable[[], list[float]]) -> list[float]:
    """run() with the vector half in the caller's thread: the two halves one after the other."""
    side, index_module._side = index_module._side, lambda: _Inline()
    try:
        return run()
    finally:
        index_module._side = side


def language(text: str) -> str:
    """The generator's Chinese texts end with a full-width stop."""
    return "zh" if text.endswith("。") else "en"


def recall_at_k(results: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(r[:K]) & set(t.tolist())) / K for r, t in zip(results, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ef", type=int, nargs="*", default=[64, 128, 256],
                        help="expansion_search values for the recall sweep")  # fmt: skip
    parser.add_argument("--connectivity", type=int, default=index_module.HNSW_CONNECTIVITY,
                        help="HNSW connectivity (M) to measure instead of the configured one")
    parser.add_argument("--expansion-add", type=int, default=index_module.HNSW_EXPANSION_ADD,
                        help="HNSW expansion_add (efConstruction) to measure instead")
    parser.add_argument("--expansion-search", type=int, default=index_module.HNSW_EXPANSION_SEARCH,
                        help="HNSW expansion_search used for the latency rows")  # fmt: skip
    parser.add_argument("--keep", type=Path, default=None,
                        help="build into this folder and save it there (index, ground truth, build "
                             "figures); when it already holds a saved build of the same settings, "
                             "load that instead of building, to measure search again")  # fmt: skip
    args = parser.parse_args()
    # Overrides apply to this process only: HybridIndex reads these when it builds its graph.
    index_module.HNSW_CONNECTIVITY = args.connectivity
    index_module.HNSW_EXPANSION_ADD = args.expansion_add
    index_module.HNSW_EXPANSION_SEARCH = args.expansion_search
    print(machine())
    print(f"n={args.n:,} snippets, dim={DIM}, {args.queries} queries, k={K}, candidate depth "
          f"{CANDIDATE_DEPTH}; HNSW connectivity={args.connectivity} expansion_add="
          f"{args.expansion_add} expansion_search={args.expansion_search}", flush=True)  # fmt: skip
    qrng = np.random.default_rng([args.seed, 999])
    query_vectors = make_vectors(args.queries, qrng, make_space(np.random.default_rng(args.seed)))
    query_texts = TextGen(args.seed).queries(args.queries, qrng)
    query_langs = [language(t) for t in query_texts]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        settings = {k: getattr(args, k) for k in ("n", "queries", "chunk", "seed", "connectivity",
                                                  "expansion_add")}  # fmt: skip
        if (folder / "build.json").exists():
            saved = json.loads((folder / "build.json").read_text())
            if saved["settings"] != settings:
                raise SystemExit(f"{folder} holds a build of {saved['settings']}, not {settings}")
            start = time.perf_counter()
            index = HybridIndex(folder, dim=DIM, model_name="bench-384")
            t, truth = saved["timings"], np.load(folder / "truth.npy")
            print(f"loaded the build saved in {folder} in {time.perf_counter() - start:.1f} s "
                  f"(build figures below are from the run that built it)")  # fmt: skip
        else:
            index = HybridIndex(folder, dim=DIM, model_name="bench-384")
            t, truth = build(args, index, query_vectors, query_langs)
            if args.keep:
                index.save()
                np.save(folder / "truth.npy", truth)
                (folder / "build.json").write_text(json.dumps({"settings": settings, "timings": t}))
        rss, peak = rss_mib()
        bm25 = index._bm25
        postings = len(bm25._main.rows)
        print(
            f"\nbuild: {t['total'] + t['postings']:.1f} s total = tokenising {t['tokenize']:.1f} s"
            f" + keyword rows {t['keywords']:.1f} s + keyword postings {t['postings']:.1f} s"
            f" + vectors (HNSW, all cores) {t['total'] - t['tokenize'] - t['keywords']:.1f} s"
        )
        print(
            f"memory: RSS {rss:.0f} MiB, peak {peak:.0f} MiB; usearch reports "
            f"{index._vectors.memory_usage / 2**20:.0f} MiB; {postings:,} postings over "
            f"{len(bm25._terms):,} terms; exact scan for ground truth {t['exact_scan']:.1f} s"
        )
        measure(index, args, query_texts, query_vectors, query_langs, truth)
        print(f"language centres: {sorted(index.centres)} (norms "
              f"{', '.join(f'{np.linalg.norm(c):.3f}' for c in index.centres.values())})")
        if args.n < 1_000_000:
            extrapolate(args.n, t)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end: {load} ({os.cpu_count()} cores; above that, timings are inflated)")


def measure(index: HybridIndex, args: argparse.Namespace, texts: list[str],
            vectors: np.ndarray, langs: list[str], truth: np.ndarray) -> None:  # fmt: skip
    """Latency of each search kind (as the service calls it: raw query vector and its language),
    recall@10 and the baselines (on the centred query vectors the index compares)."""
    n_q = len(texts)
    no_word = "zzqxv"  # in no document: the BM25 half finds nothing, costs a dict lookup
    rng = np.random.default_rng(1)
    allowed = set(rng.choice(args.n, size=max(1, args.n // 50), replace=False).tolist())
    with threadpool_limits(1):
        index.search(texts[0], vectors[0], k=K, query_lang=langs[0])  # warm up
        rows = {
            "semantic only": timed(
                lambda i: index.search(no_word, vectors[i], k=K, query_lang=langs[i]), n_q
            ),
            "keyword only": timed(lambda i: index.search(texts[i], None, k=K), n_q),
            "hybrid": timed(lambda i: index.search(texts[i], vectors[i], k=K, query_lang=langs[i]), n_q),
            "hybrid, halves one after other": sequential(
                lambda: timed(lambda i: index.search(texts[i], vectors[i], k=K, query_lang=langs[i]), n_q)
            ),
            f"hybrid, filter {len(allowed):,} ids": timed(
                lambda i: index.search(texts[i], vectors[i], k=K, allowed_ids=allowed,
                                       query_lang=langs[i]), min(n_q, 50)
            ),
        }
        print(f"\nlatency, one query at a time, k={K} (numpy on one thread; a hybrid search runs its "
              "vector half on a second thread while the first ranks by BM25):")
        for name, times in rows.items():
            print(f"  {name:32} {percentiles(times)}  ({len(times)} queries)")
        p95 = float(np.percentile(np.array(rows["hybrid"]) * 1000, 95))
        verdict = "meets" if p95 <= P95_TARGET_MS else "MISSES"
        print(f"  hybrid p95 {p95:.1f} ms {verdict} the {P95_TARGET_MS:.0f} ms target")
        centred = index.centred(vectors, langs)
        sweep(index, centred, truth, args.ef)
        baselines(index, texts, centred)


def sweep(index: HybridIndex, vectors: np.ndarray, truth: np.ndarray, efs: list[int]) -> None:
    """recall@10 of the semantic ranking (top 10 of the candidates) against exact search."""
    usearch, configured = index._vectors, index_module.HNSW_EXPANSION_SEARCH
    print(f"\nrecall@10 of the semantic ranking vs exact numpy search ({len(vectors)} queries):")
    for ef in sorted({*efs, configured}):
        usearch.expansion_search = ef
        results: list[list[int]] = []
        times = timed(
            lambda i, results=results: results.append(
                [d for d, _ in index._vector_ranking(vectors[i], CANDIDATE_DEPTH, None)]
            ),
            len(vectors),
        )
        value = recall_at_k(results, truth)
        verdict = "meets" if value >= RECALL_TARGET else "MISSES"
        mark = f"  <- configured, {verdict} {RECALL_TARGET}" if ef == configured else ""
        print(f"  expansion_search {ef:4}: recall@10 {value:.4f}  "
              f"{percentiles(times)}{mark}")  # fmt: skip
    usearch.expansion_search = configured


def baselines(index: HybridIndex, texts: list[str], vectors: np.ndarray) -> None:
    """Exact vector search and dense BM25 (every document scored), measured here too."""
    usearch, bm25 = index._vectors, index._bm25
    from app.library.text import tokenize

    n_q = min(len(texts), 20)
    exact = timed(lambda i: usearch.search(vectors[i], K, exact=True, threads=1), n_q)
    tokens = [tokenize(t) for t in texts]

    def dense(i: int) -> None:
        ids, scores = bm25.scores(tokens[i])
        top = np.argpartition(-scores, K)[:K]
        ids[top[np.argsort(-scores[top])]]

    print("\nbaselines (same index, same queries):")
    print(f"  exact vector search        {percentiles(exact)}  ({n_q} queries, usearch exact=True)")
    print(f"  dense BM25 (every doc)     {percentiles(timed(dense, n_q))}  ({n_q} queries)")


def extrapolate(n: int, t: dict[str, float]) -> None:
    """Scale the measured build to one million (EXTRAPOLATION, not a measurement)."""
    f = 1_000_000 / n
    hnsw = (t["total"] - t["tokenize"] - t["keywords"]) * f * math.log(1e6) / math.log(n)
    print(f"\nEXTRAPOLATION to 1,000,000 (not measured): vectors ~{hnsw:.0f} s (n log n), "
          f"tokenising ~{t['tokenize'] * f:.0f} s, keyword rows+postings "
          f"~{(t['keywords'] + t['postings']) * f * 1.1:.0f} s (linear + sort); BM25 query cost "
          f"grows with posting lengths (~linear in n), HNSW query cost ~log n.")  # fmt: skip


if __name__ == "__main__":
    main()
