"""Cross-language search quality of the library: English queries → Chinese moments (and back).

A small labelled set: 16 sales moments written in both languages (the same intent). The index
holds all 32; each English query must find the Chinese moment of the same intent, and each
Chinese query the English one. Reported per embedder: hit@1 and hit@5 for the cross-language
target, with Wilson 95 % intervals (n = 16 per direction: wide intervals, a sanity check,
not a benchmark), for vector-only and hybrid (BM25 + vector, RRF) ranking, plus timings.

    .venv/bin/python bench/bench_library.py --embedder e5 --embedder hashing
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PAIRS = [
    ("Have you set aside a budget for this project?", "这个项目你们有预算吗？"),
    ("Who else is involved in making this decision?", "除了您之外，还有谁参与这个决定？"),
    ("When do you need the system to be live?", "你们希望系统什么时候上线？"),
    ("How does your team track customer visits today?", "你们现在是怎么跟进客户拜访的？"),
    ("I understand the price feels high; let me show you the return.", "我理解您觉得价格高，我给您算一下回报。"),
    ("Compared with your current vendor, we integrate with your CRM.", "和您现在的供应商相比，我们可以对接您的CRM。"),
    ("All data is encrypted and we can deploy on your own servers.", "所有数据都加密，也可以私有化部署在您的服务器上。"),
    ("Can we schedule a demo with your manager next Tuesday?", "下周二能不能和您领导一起安排一次演示？"),
    ("What happens when the numbers in the spreadsheet don't match?", "表格里的数据对不上的时候怎么办？"),
    ("How many sales reps are on your team?", "您的销售团队有多少人？"),
    ("We offer a free thirty-day pilot.", "我们提供三十天免费试用。"),
    ("What did that mistake cost your business?", "那次失误给公司造成了多大损失？"),
    ("I'll send you the contract for review tomorrow.", "我明天把合同发给您审核。"),
    ("Thank you for your time, talk to you next week.", "感谢您的时间，我们下周再聊。"),
    ("Is now a good time to talk for two minutes?", "现在方便说两分钟吗？"),
    ("Our customers cut their reporting time by half.", "我们的客户把做报表的时间缩短了一半。"),
]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def run(name: str) -> None:
    import numpy as np

    from app.library.index import HybridIndex, IndexDoc
    from app.library.query import CROSS_LANGUAGE_DEPTH, language_aware
    from models.embedder import get_embedder

    started = time.perf_counter()
    embedder = get_embedder(name)
    load_s = time.perf_counter() - started
    texts = [t for pair in PAIRS for t in pair]  # id 2i = English, 2i+1 = Chinese
    started = time.perf_counter()
    vectors = embedder.embed(texts, kind="passage")
    embed_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        index = HybridIndex(Path(tmp), embedder.dim, embedder.name)
        index.add([IndexDoc(i, t, "zh" if i % 2 else "en", v) for i, (t, v) in enumerate(zip(texts, vectors))])
        for direction, source in (("en→zh", 0), ("zh→en", 1)):
            hits = {"vector": [0, 0], "hybrid": [0, 0], "hybrid-language-aware": [0, 0]}
            latencies = []
            for i, pair in enumerate(PAIRS):
                query, target = pair[source], 2 * i + (1 - source)
                q = np.asarray(embedder.embed([query], kind="query")[0])
                allowed = {j for j in range(len(texts)) if j != 2 * i + source}  # the query's own text is out
                t0 = time.perf_counter()
                found = index.search(query, q, k=CROSS_LANGUAGE_DEPTH, allowed_ids=allowed)
                hybrid = [h.id for h in found[:5]]
                aware = [h.id for h in language_aware(found, query=query, language_of=lambda j: "zh" if j % 2 else "en")[:5]]
                latencies.append(time.perf_counter() - t0)
                cos = vectors @ q
                vector = [j for j in np.argsort(-cos) if j in allowed][:5]
                for kind, ranked in (("vector", vector), ("hybrid", hybrid), ("hybrid-language-aware", aware)):
                    hits[kind][0] += ranked[:1] == [target]
                    hits[kind][1] += target in ranked
            n = len(PAIRS)
            for kind, (h1, h5) in hits.items():
                lo1, hi1 = wilson(h1, n)
                lo5, hi5 = wilson(h5, n)
                print(f"{embedder.name:28s} {direction} {kind:21s} hit@1 {h1}/{n} [{lo1:.2f}, {hi1:.2f}]  "
                      f"hit@5 {h5}/{n} [{lo5:.2f}, {hi5:.2f}]")
            print(f"{embedder.name:28s} {direction} hybrid query p50 {1000 * sorted(latencies)[n // 2]:.2f} ms")
    print(f"{embedder.name:28s} load {load_s:.1f} s, embed {len(texts)} texts {embed_s:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", action="append", help="hashing (baseline), e5, minilm, use …")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} python {platform.python_version()}")
    for name in args.embedder or ["hashing", "e5"]:
        run(name)


if __name__ == "__main__":
    main()
