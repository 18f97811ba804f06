"""Small metrics and fixture readers for the models tests."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

AUDIO = Path(__file__).resolve().parents[1] / "fixtures" / "audio"


@dataclass(frozen=True)
class Turn:
    speaker: int
    start: float
    end: float
    text: str


def dialog_turns() -> list[Turn]:
    """Ground truth of the two-voice dialog fixture (speaker 0 = rep)."""
    return [Turn(**t) for t in json.loads((AUDIO / "dialog_en.json").read_text())]


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def normalise_en(text: str) -> list[str]:
    """Lower-case words without punctuation; '$50,000' → '50000 dollars'."""
    text = re.sub(r"\$(\d[\d,]*)", r"\1 dollars", text.lower())
    text = re.sub(r"(?<=\d),(?=\d)", "", text)
    return re.sub(r"[^\w\s]", " ", text).split()


def wer(ref: str, hyp: str) -> float:
    """Word error rate after normalise_en."""
    r = normalise_en(ref)
    return _edit_distance(r, normalise_en(hyp)) / len(r)


def cer(ref: str, hyp: str) -> float:
    """Character error rate over non-space, non-punctuation characters."""
    strip = lambda s: [c for c in s if c.isalnum()]
    r = strip(ref)
    return _edit_distance(r, strip(hyp)) / len(r)
