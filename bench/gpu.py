"""Benchmark: utterance embedding and vector search on a GPU, against the CPU in the same run.

Run: .venv/bin/python bench/gpu.py [--models var/models/multilingual-e5-small var/models/all-mpnet-base-v2]
     [--random-weights] [--sizes 100000 1000000]

Embedding: the matching/search embedders' transformers (e5-small, all-mpnet-base-v2) over real
utterances (every labelled call in tests/data), tokenised as the pipeline does (e5 gets its
"query: " prefix), mean-pooled and normalised; sentences/s on the CPU (all cores) and on the GPU in
fp32 and fp16, batch 64, after a warm-up. `--random-weights` builds each model from its config
alone (a GPU machine that cannot receive the weights): the same layers and shapes, so the same
arithmetic and speed, with meaningless vectors; without it the real weights are loaded when the
folder has them. Search: exact top-10 over N unit vectors of 384 dimensions, one query at a time
(the latency a search request sees) and 256 queries at once, numpy on one CPU thread against
torch on the GPU. Prints the machine first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "?")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"cpu={cpu} cores={os.cpu_count()} gpu={gpu} python={platform.python_version()} "
            f"torch={torch.__version__} load1={os.getloadavg()[0]:.1f}")


def utterances() -> list[str]:
    """Every utterance of the labelled calls in tests/data (English and Chinese), in file order."""
    out = []
    for path in sorted((ROOT / "tests" / "data").rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("utterances"), list):
            out += [u["text"] for u in doc["utterances"] if isinstance(u, dict) and u.get("text")]
    return out


def load(folder: Path, random_weights: bool) -> tuple[torch.nn.Module, object, str]:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if random_weights or not (folder / "model.safetensors").exists():
        torch.manual_seed(0)
        model, weights = AutoModel.from_config(AutoConfig.from_pretrained(folder)), "random"
    else:
        model, weights = AutoModel.from_pretrained(folder), "real"
    return model.eval(), tokenizer, weights


def embed(model: torch.nn.Module, tokenizer: object, texts: list[str], device: str) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), BATCH):
            batch = tokenizer(texts[i : i + BATCH], padding=True, truncation=True, max_length=256,
                              return_tensors="pt").to(device)  # type: ignore[operator]
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            out.append(torch.nn.functional.normalize(pooled.float(), dim=-1).cpu())
    if device == "cuda":
        torch.cuda.synchronize()
    return torch.cat(out).numpy()


def rate(model: torch.nn.Module, tokenizer: object, texts: list[str], device: str) -> float:
    embed(model, tokenizer, texts[: BATCH * 2], device)  # warm-up (kernels, allocator)
    start = time.perf_counter()
    embed(model, tokenizer, texts, device)
    return len(texts) / (time.perf_counter() - start)


def bench_embedding(folders: list[Path], random_weights: bool, cpu_texts: int) -> None:
    texts = utterances()
    print(f"\n== embedding: {len(texts)} real utterances, batch {BATCH}, max 256 tokens ==")
    print(f"{'model':28} {'weights':8} {'CPU fp32 (first ' + str(cpu_texts) + ')':>24} {'GPU fp32':>12} {'GPU fp16':>12}")
    for folder in folders:
        model, tokenizer, weights = load(folder, random_weights)
        items = [f"query: {t}" for t in texts] if "e5" in folder.name else texts
        cpu = rate(model, tokenizer, items[:cpu_texts], "cpu")
        gpu32 = gpu16 = float("nan")
        if torch.cuda.is_available():
            model = model.to("cuda")
            gpu32 = rate(model, tokenizer, items, "cuda")
            model = model.half()
            gpu16 = rate(model, tokenizer, items, "cuda")
        print(f"{folder.name:28} {weights:8} {cpu:21.0f}/s {gpu32:10.0f}/s {gpu16:10.0f}/s")
        del model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def bench_search(sizes: list[int], n_queries: int = 256, dim: int = 384, k: int = 10) -> None:
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    print(f"\n== exact search: top {k} of N unit vectors, dim {dim} ==")
    print(f"{'N':>10} {'numpy 1 thread, per query':>28} {'GPU per query':>16} {'GPU 256 at once, per query':>28} {'agree':>6}")
    for n in sizes:
        data = rng.standard_normal((n, dim), dtype=np.float32)
        data /= np.linalg.norm(data, axis=1, keepdims=True)
        queries = data[rng.integers(0, n, n_queries)] + 0.05 * rng.standard_normal((n_queries, dim), dtype=np.float32)
        timed = queries[: max(8, min(n_queries, 20_000_000 // n))]  # numpy: fewer queries on big N
        with threadpool_limits(1):
            start = time.perf_counter()
            cpu_top = [np.argpartition(-(data @ q), k)[:k] for q in timed]
            cpu_ms = (time.perf_counter() - start) / len(timed) * 1e3
        gpu_ms = batch_ms = float("nan")
        agree = float("nan")
        if torch.cuda.is_available():
            matrix, qs = torch.from_numpy(data).cuda(), torch.from_numpy(queries).cuda()
            for q in qs[:8]:
                torch.topk(matrix @ q, k)  # warm-up
            torch.cuda.synchronize()
            start = time.perf_counter()
            tops = [torch.topk(matrix @ q, k).indices for q in qs]
            torch.cuda.synchronize()
            gpu_ms = (time.perf_counter() - start) / len(qs) * 1e3
            start = time.perf_counter()
            torch.topk(qs @ matrix.T, k, dim=1)
            torch.cuda.synchronize()
            batch_ms = (time.perf_counter() - start) / len(qs) * 1e3
            agree = np.mean([set(c) == set(g.cpu().numpy()) for c, g in zip(cpu_top, tops)])
            del matrix, qs
            torch.cuda.empty_cache()
        print(f"{n:>10,} {cpu_ms:25.2f} ms {gpu_ms:13.3f} ms {batch_ms:25.4f} ms {agree:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, nargs="+",
                        default=[ROOT / "var/models/multilingual-e5-small", ROOT / "var/models/all-mpnet-base-v2"])
    parser.add_argument("--random-weights", action="store_true")
    parser.add_argument("--cpu-texts", type=int, default=512, help="utterances embedded on the CPU baseline")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    args = parser.parse_args()
    print(machine())
    bench_embedding(args.models, args.random_weights, args.cpu_texts)
    bench_search(args.sizes)


if __name__ == "__main__":
    main()
