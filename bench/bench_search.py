"""Benchmark the library search: ANN libraries against exact numpy, and BM25 against bm25s.

Run: .venv/bin/python bench/bench_search.py [--sizes 10000 100000] [--queries 200]

Vectors are 384-dim, unit length and clustered like sentence embeddings (topic centres plus
low-rank within-topic variation plus noise); queries are drawn from the same mixture but are
not in the index. Each ANN index is built with all cores and queried one query at a time on
one thread (the latency a search request sees). recall@10 is measured against exact numpy
brute force, the baseline in the same run. Memory is the size
the index itself reports (vectors included).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import time
from collections.abc import Callable
from importlib.metadata import version

import numpy as np
from threadpoolctl import threadpool_limits

from app.library.index import (
    CANDIDATE_DEPTH,
    HNSW_CONNECTIVITY,
    HNSW_EXPANSION_ADD,
    HNSW_EXPANSION_SEARCH,
)

DIM = 384
K = 10
# Same graph settings for every library: those HybridIndex uses.
HNSW_M = HNSW_CONNECTIVITY
EF_CONSTRUCTION = HNSW_EXPANSION_ADD
EF_SEARCH = HNSW_EXPANSION_SEARCH
DEPTH = CANDIDATE_DEPTH  # candidates fetched per ranking before fusion

EN_PHRASES = [
    "have you set aside a budget for this project",
    "the price is too high for our team",
    "who else is involved in the decision",
    "what timeline are you working towards",
    "can we schedule a demo next week",
    "our current vendor is cheaper",
    "we need approval from procurement",
    "how many seats would you need",
    "the integration with salesforce matters most",
    "send me the contract and pricing proposal",
    "we are evaluating two other competitors",
    "onboarding usually takes about two weeks",
]
ZH_PHRASES = [
    "您这边的预算大概是多少",
    "价格太贵了我们再考虑一下",
    "这个项目还有谁参与决策",
    "你们计划什么时候上线",
    "我们下周可以安排一次演示",
    "现在用的供应商更便宜",
    "需要采购部门审批",
    "大概需要多少个账号",
    "和现有系统的集成最重要",
    "请把合同和报价发给我",
    "我们还在对比另外两家",
    "实施一般需要两周左右",
]


def machine() -> str:
    """CPU model, core count and library versions, for the header."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    libs = ["numpy", "usearch", "hnswlib", "faiss-cpu", "bm25s", "jieba"]
    versions = ", ".join(f"{lib} {_version(lib)}" for lib in libs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"CPU: {cpu}, {os.cpu_count()} cores, load average {load} (other work skews timings); "
        f"Python {platform.python_version()}; {versions}"
    )


def _version(lib: str) -> str:
    try:
        return version(lib)
    except Exception:  # noqa: BLE001 - a missing library is reported, not fatal
        return "missing"


def make_vectors(n: int, rng: np.random.Generator, space: tuple[np.ndarray, ...]) -> np.ndarray:
    """Unit vectors: a shared mean direction (embeddings are anisotropic), a topic centre,
    within-topic variation in a 64-dim subspace, and isotropic noise; norms ~0.5/1/0.6/0.35."""
    mean, topics, basis = space
    which = rng.integers(0, len(topics), size=n)
    latent = rng.normal(size=(n, 64)).astype(np.float32) * (0.6 / 8)
    noise = rng.normal(size=(n, DIM)).astype(np.float32) * (0.35 / np.sqrt(DIM))
    vectors = mean + topics[which] + latent @ basis + noise
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_space(rng: np.random.Generator, n_topics: int = 200) -> tuple[np.ndarray, ...]:
    """The fixed parts of the vector distribution: mean direction, topic centres, subspace."""
    mean = rng.normal(size=DIM).astype(np.float32)
    topics = rng.normal(size=(n_topics, DIM)).astype(np.float32) / np.sqrt(DIM)
    basis = rng.normal(size=(64, DIM)).astype(np.float32) / np.sqrt(DIM)
    return 0.5 * mean / np.linalg.norm(mean), topics, basis


def make_token_corpus(n: int, rng: np.random.Generator) -> tuple[list[list[str]], list[str]]:
    """Documents of 2-4 sales phrases (en or zh), tokenised phrase by phrase, plus sample texts."""
    from app.library.text import tokenize

    phrases = EN_PHRASES + ZH_PHRASES
    tokens = [tokenize(p) for p in phrases]
    docs, texts = [], []
    for i in range(n):
        picks = rng.integers(0, len(phrases), size=int(rng.integers(2, 5)))
        docs.append([t for p in picks for t in tokens[p]] + [f"acct{i % 5000}"])
        if i < 2000:
            texts.append("，".join(phrases[p] for p in picks))
    return docs, texts


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"p50 {np.percentile(ms, 50):7.3f} ms  p95 {np.percentile(ms, 95):7.3f} ms"


def timed_queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple:
    """Run queries one at a time; return (latencies, result id matrix)."""
    times, results = [], []
    for q in queries:
        start = time.perf_counter()
        ids = search(q)
        times.append(time.perf_counter() - start)
        results.append(np.asarray(ids)[:K])
    return times, results


def recall(results: list[np.ndarray], truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(r.tolist()) & set(t.tolist())) / K for r, t in zip(results, truth)])
    )


def build_usearch(data: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from usearch.index import Index

    index = Index(ndim=DIM, metric="cos", dtype="f32", connectivity=HNSW_M,
                  expansion_add=EF_CONSTRUCTION, expansion_search=EF_SEARCH)  # fmt: skip
    index.add(np.arange(len(data), dtype=np.uint64), data)
    return (lambda q, count: index.search(q, count, threads=1).keys), index.memory_usage


def build_hnswlib(data: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=DIM)
    index.init_index(max_elements=len(data), M=HNSW_M, ef_construction=EF_CONSTRUCTION)
    index.add_items(data, np.arange(len(data)), num_threads=os.cpu_count() or 1)
    index.set_ef(EF_SEARCH)
    index.set_num_threads(1)
    return (lambda q, count: index.knn_query(q, k=count, num_threads=1)[0][0]), _saved_size(index)


def build_faiss(data: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(data)
    index.hnsw.efSearch = EF_SEARCH
    faiss.omp_set_num_threads(1)
    size = faiss.serialize_index(index).nbytes
    return (lambda q, count: index.search(q[None, :], count)[1][0]), size


def build_numpy(data: np.ndarray, count: int = K) -> Callable[..., np.ndarray]:
    def search(q: np.ndarray, count: int = count) -> np.ndarray:
        scores = data @ q
        top = np.argpartition(-scores, count)[:count]
        return top[np.argsort(-scores[top])]

    return search


def _saved_size(index: object) -> int:
    """Bytes hnswlib writes for the index (its own in-memory layout, vectors included)."""
    path = f"/tmp/bench-hnswlib-{os.getpid()}.bin"
    index.save_index(path)  # type: ignore[attr-defined]
    size = os.path.getsize(path)
    os.unlink(path)
    return size


def build_torch_cuda(data: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    matrix = torch.from_numpy(data).to("cuda")

    def search(q: np.ndarray, count: int) -> np.ndarray:
        scores = matrix @ torch.from_numpy(q).to("cuda")
        return torch.topk(scores, count).indices.cpu().numpy()

    return search, data.nbytes


def bench_vectors(n: int, n_queries: int, device: str) -> None:
    rng = np.random.default_rng(n)
    space = make_space(rng)
    data = make_vectors(n, rng, space)
    queries = make_vectors(n_queries, rng, space)
    truth = np.stack([build_numpy(data)(q)[:K] for q in queries])
    builders = {"numpy exact": lambda d: (build_numpy(d), d.nbytes), "usearch": build_usearch,
                "hnswlib": build_hnswlib, "faiss HNSWFlat": build_faiss}  # fmt: skip
    if device == "cuda":
        builders["torch cuda exact"] = build_torch_cuda
    print(f"\n== vectors: n={n:,}, dim={DIM}, {n_queries} queries, k={K} ==")
    print("latency: one query at a time, 1 thread, k=10; recall@10 vs numpy exact; 'via 100':")
    print(f"top 10 of {DEPTH} fetched, as HybridIndex does; memory: index size reported by it")
    print(f"{'library':18} {'build s':>8} {'latency k=10':>34} {'recall@10':>9} "
          f"{'latency k=100':>34} {'via 100':>8} {'MiB':>7}")  # fmt: skip
    for name, build in builders.items():
        gc.collect()
        start = time.perf_counter()
        try:
            search, size = build(data)
        except ImportError as exc:  # hnswlib / faiss-cpu come with the dev extra only
            print(f"{name:18} skipped: {exc} (pip install -e '.[dev]')")
            continue
        build_s = time.perf_counter() - start
        with threadpool_limits(1):  # numpy's BLAS too: one query, one thread
            t10, r10 = timed_queries(lambda q, s=search: s(q, K), queries)
            t100, r100 = timed_queries(lambda q, s=search: s(q, DEPTH), queries)
        print(f"{name:18} {build_s:8.2f} {percentiles(t10):>34} {recall(r10, truth):9.4f} "
              f"{percentiles(t100):>34} {recall(r100, truth):8.4f} {size / 2**20:7.1f}")  # fmt: skip
        search = None
        gc.collect()


def bench_bm25(n: int, n_queries: int) -> None:
    import bm25s

    from app.library.index import _Bm25
    from app.library.text import tokenize

    rng = np.random.default_rng(n + 1)
    corpus, texts = make_token_corpus(n, rng)
    queries = [tokenize(q) for q in ["price too high", "预算", "价格太贵", "demo next week",
                                     "采购部门审批", "salesforce integration"]]  # fmt: skip
    queries = (queries * (n_queries // len(queries) + 1))[:n_queries]
    print(f"\n== BM25: n={n:,} docs, {np.mean([len(d) for d in corpus]):.1f} tokens/doc ==")
    start = time.perf_counter()
    for text in texts:
        tokenize(text)
    per_doc = (time.perf_counter() - start) / len(texts)
    print(
        f"tokenize (jieba + english): {per_doc * 1e6:.0f} us/doc -> {per_doc * n:.1f} s for n docs"
    )

    ours = _Bm25()
    for i, toks in enumerate(corpus):
        ours.add(i, "en", toks)
    start = time.perf_counter()
    ours.scores([])
    print(f"ours   full (re)build {time.perf_counter() - start:7.3f} s; ", end="")
    times, _ = timed_queries(lambda q: np.argsort(-ours.scores(q)[1])[:K], queries)
    print(f"query {percentiles(times)} (scores every doc: exact under any filter)")

    start = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    print(f"bm25s  full index     {time.perf_counter() - start:7.3f} s; ", end="")
    times, _ = timed_queries(lambda q: retriever.retrieve([q], k=K, show_progress=False)
                             .documents[0], queries)  # fmt: skip
    print(f"query {percentiles(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--skip-vectors", action="store_true")
    args = parser.parse_args()
    if args.device == "cuda" and not _cuda_available():
        print("--device cuda: torch sees no CUDA device, running the CPU benchmark only")
        args.device = "cpu"
    print(machine())
    print(f"HNSW M={HNSW_M} efConstruction={EF_CONSTRUCTION} efSearch={EF_SEARCH}")
    for n in args.sizes:
        if not args.skip_vectors:
            bench_vectors(n, args.queries, args.device)
        bench_bm25(n, args.queries)


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


if __name__ == "__main__":
    main()
