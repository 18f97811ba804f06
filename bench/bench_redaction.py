"""PII redaction quality and speed on the held-out labelled set.

Run: .venv/bin/python bench/bench_redaction.py [--split heldout|dev] [--errors]
Prints per kind and language: recall, precision, false-positive utterances per 1,000 negative
utterances (each with a 95% Wilson interval), the machine, and a baseline measured in the same run:
a naive "any 11+ digit string / anything with @" detector, to show what the validation buys.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.privacy.redaction import PiiKind, PiiSpan
from tests.privacy.scoring import Tally, load, score, wilson

NAIVE_DIGITS = re.compile(r"\+?\d[\d -]{9,22}\d")
NAIVE_EMAIL = re.compile(r"\S+@\S+")


def naive_find(text: str, policy: object) -> list[PiiSpan]:
    """Baseline: long digit strings are phones/cards by length, anything with @ is an email."""
    spans = [PiiSpan(PiiKind.EMAIL, m.start(), m.end(), m.group()) for m in NAIVE_EMAIL.finditer(text)]
    for m in NAIVE_DIGITS.finditer(text):
        n = sum(c.isdigit() for c in m.group())
        kind = PiiKind.PHONE if n <= 12 else PiiKind.CN_ID if n == 18 else PiiKind.BANK_CARD
        spans.append(PiiSpan(kind, m.start(), m.end(), m.group()))
    return spans


def fmt(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k / n if n else float('nan'):.3f} [{lo:.3f}, {hi:.3f}] ({k}/{n})"


def fmt_fp(t: Tally) -> str:
    lo, hi = wilson(t.fp_utterances, t.negatives)
    rate = 1000 * t.fp_utterances / t.negatives if t.negatives else float("nan")
    return f"{rate:6.1f} [{1000 * lo:.1f}, {1000 * hi:.1f}] ({t.fp_utterances}/{t.negatives})"


def report(title: str, tallies: dict) -> None:
    print(f"\n## {title}")
    print(f"{'kind':<10}{'lang':<5}{'recall [95% CI]':<32}{'precision [95% CI]':<32}"
          "FP per 1k negative utterances [95% CI]")
    for (kind, lang), t in sorted(tallies.items()):
        print(f"{kind:<10}{lang:<5}{fmt(t.recalled, t.gold):<32}{fmt(t.correct, t.predicted):<32}"
              f"{fmt_fp(t)}")


def machine() -> str:
    return (f"{platform.node()} | {platform.processor() or platform.machine()} | "
            f"{os.cpu_count()} CPUs | Python {platform.python_version()} | {platform.system()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="heldout", choices=["heldout", "dev"])
    parser.add_argument("--errors", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    rows = load(args.split)
    langs = {lang: sum(r["lang"] == lang for r in rows) for lang in ("en", "zh")}
    negatives = sum(r["hard_negative"] for r in rows)
    print(f"# PII redaction bench, split={args.split}: {len(rows)} utterances {langs}, "
          f"{negatives} hard negatives")
    print(f"machine: {machine()}")

    started = time.perf_counter()
    tallies, errors = score(rows)
    elapsed = time.perf_counter() - started
    report("find_pii (all kinds enabled; amount is off by default in the product)", tallies)
    print(f"\nthroughput: {len(rows) / elapsed:,.0f} utterances/s "
          f"({sum(len(r['text']) for r in rows) / elapsed / 1000:,.0f}k chars/s)")

    naive, _ = score(rows, finder=naive_find)
    report("baseline: naive length/@ detector, same run", {k: v for k, v in naive.items()
                                                            if k[0] != "amount"})
    if args.errors:
        print("\n## errors")
        for e in errors:
            print(e)


if __name__ == "__main__":
    main()
