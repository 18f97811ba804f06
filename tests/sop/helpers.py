"""Typed helpers for SOP tests: a tiny SOP, utterances, and vectors built so the answer is known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.sop.loader import load_sop
from app.sop.schema import SopDefinition

DIM = 32


@dataclass(frozen=True)
class Utt:
    index: int
    role: str
    start: float
    end: float
    text: str


def examples(word: str) -> str:
    return "[" + ", ".join(f'"{word} {i}"' for i in range(5)) + "]"


def tiny_sop_yaml(*, kind: str = "call") -> str:
    """Four steps a, b, c, d (all required, rep) in two stages, plus an optional customer step e."""
    return f"""id: tiny
version: 1
name: Tiny
language: en
kind: {kind}
stages:
  - id: s1
    name: One
    steps:
      - {{id: a, name: A, required: true, examples: {examples("alpha")}}}
      - {{id: b, name: B, required: true, examples: {examples("bravo")}}}
  - id: s2
    name: Two
    steps:
      - {{id: c, name: C, required: true, examples: {examples("charlie")}}}
      - {{id: d, name: D, required: true, examples: {examples("delta")}}}
      - {{id: e, name: E, speaker: customer, examples: {examples("echo")}}}
"""


def tiny_sop(kind: str = "call") -> SopDefinition:
    return load_sop(tiny_sop_yaml(kind=kind), source="tiny.yaml")


def unit(i: int) -> np.ndarray:
    v = np.zeros(DIM, np.float32)
    v[i] = 1.0
    return v


def example_vectors(sop: SopDefinition) -> dict[str, np.ndarray]:
    """Step k's texts sit near axis k, each example tilted along its own noise axis."""
    out = {}
    for k, (_stage, step) in enumerate(sop.steps()):
        rows = [
            unit(k) + 0.35 * unit(10 + (k * 6 + j) % (DIM - 10))
            for j in range(len(step.examples) + 1)
        ]
        out[step.id] = np.stack([r / np.linalg.norm(r) for r in rows])
    return out


def mix(weights: dict[int, float], noise_axis: int = 31) -> np.ndarray:
    v = sum(w * unit(k) for k, w in weights.items()) + 0.1 * unit(noise_axis)
    return (v / np.linalg.norm(v)).astype(np.float32)


def utterances(texts: list[str], *, role: str = "rep", seconds: float = 10.0) -> list[Utt]:
    return [Utt(i, role, i * seconds, (i + 1) * seconds, t) for i, t in enumerate(texts)]
