"""Benchmark: sentences/s for MiniLM, rebuilt e5 and the hashing fake on the same 500 sentences.

Run: .venv/bin/python bench/bench_embed.py
Baseline = HashingEmbedder, measured in the same run; device is cuda when torch sees one.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEMS_EN = ["What budget have you set aside for", "Who else is involved in deciding on", "Can we schedule a demo of",
            "The price seems high for", "We already use a competitor for", "How do you handle onboarding for"]
STEMS_ZH = ["你们为这个项目预留了多少预算", "还有谁参与决定", "我们可以安排一次演示吗", "这个价格对我们来说有点高",
            "我们已经在用竞争对手的产品", "你们的上线流程是怎样的"]
TOPICS = ["the CRM rollout", "call coaching", "the analytics module", "next quarter", "your sales team",
          "the pilot", "the renewal", "security review"]


def sentences(n: int = 500) -> list[str]:
    out = []
    for i in range(n):
        if i % 2:
            out.append(f"{STEMS_ZH[i % 6]}，关于{TOPICS[i % 8]}（第{i}条）？")
        else:
            out.append(f"{STEMS_EN[i % 6]} {TOPICS[i % 8]}, item {i}?")
    return out


def main() -> None:
    import torch

    from models import get_embedder

    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"cpu={cpu} cores={os.cpu_count()} torch_threads={torch.get_num_threads()} device={device} "
          f"python={platform.python_version()} torch={torch.__version__} load1={os.getloadavg()[0]:.1f}")
    texts = sentences()
    for name in ("hashing", "minilm", "e5"):
        emb = get_embedder(name)
        emb.embed(texts[:32])  # warm-up
        t0 = time.perf_counter()
        out = emb.embed(texts, batch_size=32)
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{emb.name:24s} dim={out.shape[1]:4d} {len(texts) / dt:8.1f} sentences/s  peak_rss={rss:.0f} MB")


if __name__ == "__main__":
    main()
