"""Cross-language search quality of the library: English queries → Chinese moments (and back).

Two labelled sets of sales moments written in both languages (the same intent): PAIRS (16, the
set these figures were first reported on) and HELD_OUT (18: the phrase pairs of
bench_search.py and bench_embed.py, written for other benchmarks; nothing is tuned on either).
Each English query must find the Chinese moment of the same intent, and each Chinese query the
English one; the query's own text is filtered out.

The index holds what a library would: both sets plus every example sentence of the bundled SOPs
(162 English, 230 Chinese, none a translation of another) as other documents, so the
same-language distractors are many and the language centres (app.library.centring) come from
ordinary library text. Each embedder runs twice on the same documents: "plain" (no centring, the
baseline) and "centred". Reported: hit@1 and hit@5 with Wilson 95 % intervals (n = 16 or 18 per
direction: wide intervals) for vector-only, hybrid (BM25 + vector, RRF) and the language-aware
hybrid the search service uses, plus timings. Queries are embedded as e5 queries (``query: ``),
documents as passages, as the service does.

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


def held_out() -> list[tuple[str, str]]:
    """Phrase pairs of the other search and embedding benchmarks (translations of each other)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_embed import STEMS_EN, STEMS_ZH
    from bench_search import EN_PHRASES, ZH_PHRASES

    return list(zip(EN_PHRASES, ZH_PHRASES, strict=True)) + list(zip(STEMS_EN, STEMS_ZH, strict=True))


def sop_examples() -> list[tuple[str, str]]:
    """(text, language) of every example sentence in the bundled SOP definitions."""
    import yaml

    out: list[tuple[str, str]] = []

    def walk(node: object, lang: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "examples" and isinstance(value, list):
                    out.extend((str(v), lang) for v in value)
                else:
                    walk(value, lang)
        elif isinstance(node, list):
            for value in node:
                walk(value, lang)

    for path in sorted((Path(__file__).resolve().parents[1] / "sop_definitions").glob("*.yaml")):
        walk(yaml.safe_load(path.read_text("utf-8")), "zh" if ".zh." in path.name else "en")
    return out


def run(name: str) -> None:

    from app.library import centring
    from app.library.index import HybridIndex, IndexDoc
    from models.embedder import get_embedder

    started = time.perf_counter()
    embedder = get_embedder(name)
    load_s = time.perf_counter() - started
    sets = {"PAIRS": PAIRS, "HELD_OUT": held_out()}
    docs = [(t, lang) for pairs in sets.values() for pair in pairs for t, lang in zip(pair, ("en", "zh"))]
    docs += sop_examples()
    texts, langs = [t for t, _ in docs], [lang for _, lang in docs]
    started = time.perf_counter()
    vectors = embedder.embed(texts, kind="passage")
    queries = embedder.embed(texts[: 2 * sum(map(len, sets.values()))], kind="query")
    embed_s = time.perf_counter() - started
    minimum = centring.CENTRE_MIN_DOCS
    for mode in ("plain", "centred"):
        centring.CENTRE_MIN_DOCS = minimum if mode == "centred" else 10**9
        with tempfile.TemporaryDirectory() as tmp:
            index = HybridIndex(Path(tmp), embedder.dim, embedder.name)
            index.add([IndexDoc(i, t, lang, v) for i, (t, lang, v) in enumerate(zip(texts, langs, vectors))])
            stored = index.centred(vectors, langs)
            offset = 0
            for set_name, pairs in sets.items():
                for direction, source in (("en→zh", 0), ("zh→en", 1)):
                    evaluate(index, stored, queries, pairs, offset, source, langs,
                             f"{embedder.name} {mode:7s} {set_name:8s} {direction}")
                offset += 2 * len(pairs)
        centring.CENTRE_MIN_DOCS = minimum
    print(f"{embedder.name}: load {load_s:.1f} s, embed {len(texts)} documents + {len(queries)} queries "
          f"{embed_s:.1f} s; {len(texts)} documents in the index "
          f"({langs.count('en')} en, {langs.count('zh')} zh)")


def evaluate(index: object, stored: object, queries: object, pairs: list[tuple[str, str]], offset: int,
             source: int, langs: list[str], label: str) -> None:
    """hit@1 / hit@5 of the cross-language target for each ranking; one line per ranking."""
    import numpy as np

    from app.library.query import CROSS_LANGUAGE_DEPTH, language_aware

    hits = {"vector": [0, 0], "hybrid": [0, 0], "hybrid-language-aware": [0, 0]}
    latencies = []
    everything = set(range(len(langs)))
    for i, pair in enumerate(pairs):
        own, target = offset + 2 * i + source, offset + 2 * i + (1 - source)
        query, lang = pair[source], ("en", "zh")[source]
        q = np.asarray(queries[own])  # type: ignore[index]
        allowed = everything - {own}
        t0 = time.perf_counter()
        found = index.search(query, q, k=CROSS_LANGUAGE_DEPTH, allowed_ids=allowed,  # type: ignore[attr-defined]
                             query_lang=lang)
        latencies.append(time.perf_counter() - t0)
        hybrid = [h.id for h in found[:5]]
        aware = [h.id for h in language_aware(found, query=query, language_of=langs.__getitem__)[:5]]
        cos = stored @ index.centred(q[None, :], [lang])[0]  # type: ignore[attr-defined,operator]
        cos[own] = -np.inf
        vector = np.argsort(-cos)[:5].tolist()
        for kind, ranked in (("vector", vector), ("hybrid", hybrid), ("hybrid-language-aware", aware)):
            hits[kind][0] += ranked[:1] == [target]
            hits[kind][1] += target in ranked
    n = len(pairs)
    for kind, (h1, h5) in hits.items():
        lo1, hi1 = wilson(h1, n)
        lo5, hi5 = wilson(h5, n)
        print(f"{label} {kind:21s} hit@1 {h1:2d}/{n} [{lo1:.2f}, {hi1:.2f}]  hit@5 {h5:2d}/{n} [{lo5:.2f}, {hi5:.2f}]")
    print(f"{label} hybrid query p50 {1000 * sorted(latencies)[n // 2]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", action="append", help="hashing (baseline), e5, minilm, use …")
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()} load average {load}")
    for name in args.embedder or ["hashing", "e5"]:
        run(name)


if __name__ == "__main__":
    main()
