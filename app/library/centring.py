"""Per-language centring of sentence embeddings, so that a query finds results in another language.

Multilingual encoders such as e5 give every sentence of one language a shared offset (a
"language direction"), so a Chinese query's nearest neighbours are Chinese sentences of any
meaning before the English sentence that says the same thing. Subtracting each language's
mean embedding from its vectors (and renormalising) removes most of that offset and leaves the
meaning (Libovický et al., 2020, "On the language neutrality of pre-trained multilingual
representations"). Measured with multilingual-e5-small on bench/bench_library.py (460 library
documents: the labelled pairs plus the bundled SOPs' example sentences; centres from those
documents; language-aware hybrid ranking), hit@1 without → with centring: zh→en 3/16 → 10/16
and en→zh 8/16 → 9/16 on the reported pairs, zh→en 0/18 → 7/18 and en→zh 4/18 → 9/18 on 18
pairs written for other benchmarks. Nothing was tuned to either set: the whole mean is
subtracted (subtracting half of it did no better on both). Forming the query with e5's ``passage: ``
prefix, or the mean of both prefixes, did worse than ``query: `` with or without centring.

A language gets its centre once it has CENTRE_MIN_DOCS documents in the index: the mean of
their vectors, frozen until the index is rebuilt from the database (which recomputes it from
every document). Until then that language's vectors are used as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# Below this many documents a mean of 384-dim vectors is mostly the documents' own topics.
CENTRE_MIN_DOCS = 100


def centre(vectors: np.ndarray, langs: Sequence[str], centres: Mapping[str, np.ndarray]) -> np.ndarray:
    """Unit rows with their language's centre subtracted (rows of languages without one unchanged)."""
    out = np.array(vectors, dtype=np.float32, copy=True)
    for lang in set(langs) & centres.keys():
        rows = np.fromiter((i for i, x in enumerate(langs) if x == lang), np.int64)
        shifted = out[rows] - centres[lang]
        norms = np.linalg.norm(shifted, axis=1, keepdims=True)
        # why: a vector equal to its centre has no direction left; keep it as it was
        out[rows] = np.where(norms > 1e-6, shifted / np.maximum(norms, 1e-12), out[rows])
    return out


def to_arrays(centres: Mapping[str, np.ndarray], dim: int) -> tuple[list[str], np.ndarray]:
    """Languages and a (languages × dim) float32 matrix, for saving."""
    langs = sorted(centres)
    matrix = np.stack([centres[x] for x in langs]) if langs else np.zeros((0, dim))
    return langs, matrix.astype(np.float32)


def from_arrays(langs: Sequence[str], matrix: np.ndarray, dim: int) -> dict[str, np.ndarray]:
    """Inverse of to_arrays; ValueError when they do not fit together."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.shape != (len(langs), dim) or not np.isfinite(matrix).all() or len(set(langs)) != len(langs):
        raise ValueError("language centres are inconsistent")
    return {str(lang): matrix[i].copy() for i, lang in enumerate(langs)}
