"""Scoring of find_pii against the labelled JSONL sets (shared by the tests and bench/)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.privacy.redaction import PiiKind, PiiSpan, RedactionPolicy, find_pii

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pii"
ALL_KINDS = RedactionPolicy(kinds=frozenset(PiiKind))


def load(name: str) -> list[dict]:
    """Rows of tests/fixtures/pii/<name>.jsonl."""
    with (FIXTURES / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Tally:
    gold: int = 0
    recalled: int = 0  # gold spans fully covered by a predicted span of the same kind
    predicted: int = 0
    correct: int = 0  # predicted spans overlapping a gold span of the same kind
    negatives: int = 0  # utterances with no gold span of this kind
    fp_utterances: int = 0  # ...of which got at least one prediction of this kind


def _covers(p: PiiSpan, g: dict) -> bool:
    return p.start <= g["start"] and p.end >= g["end"]


def _overlaps(p: PiiSpan, g: dict) -> bool:
    return p.start < g["end"] and g["start"] < p.end


def score(rows: list[dict], policy: RedactionPolicy = ALL_KINDS,
          finder: Callable[[str, RedactionPolicy], list[PiiSpan]] = find_pii
          ) -> tuple[dict, list[dict]]:
    """Tallies keyed by (kind, lang) plus the misses/false alarms for inspection."""
    tallies: dict[tuple[str, str], Tally] = {}
    errors: list[dict] = []
    for row in rows:
        predicted = finder(row["text"], policy)
        for kind in policy.kinds:
            t = tallies.setdefault((kind.value, row["lang"]), Tally())
            gold = [g for g in row["spans"] if g["kind"] == kind.value]
            mine = [p for p in predicted if p.kind == kind]
            t.gold += len(gold)
            t.recalled += sum(any(_covers(p, g) for p in mine) for g in gold)
            t.predicted += len(mine)
            t.correct += sum(any(_overlaps(p, g) for g in gold) for p in mine)
            if not gold:
                t.negatives += 1
                t.fp_utterances += bool(mine)
            missed = [g for g in gold if not any(_covers(p, g) for p in mine)]
            wrong = [p for p in mine if not any(_overlaps(p, g) for g in gold)]
            if missed or wrong:
                errors.append({"id": row["id"], "kind": kind.value, "text": row["text"],
                               "missed": [g["text"] for g in missed],
                               "false": [p.text for p in wrong]})
    return tallies, errors


def recall_by_kind(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """(recalled, gold) per kind, both languages pooled."""
    tallies, _ = score(rows)
    out: dict[str, tuple[int, int]] = {}
    for (kind, _lang), t in tallies.items():
        k, n = out.get(kind, (0, 0))
        out[kind] = (k + t.recalled, n + t.gold)
    return out
