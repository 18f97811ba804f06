"""Language centring: a query finds its translation in another language despite the language offset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.library import centring
from app.library.centring import CENTRE_MIN_DOCS
from app.library.index import HybridIndex, IndexDoc

DIM = 32
MODEL = "test-centring-32"
RNG = np.random.default_rng(3)
TOPICS = RNG.normal(size=(2 * CENTRE_MIN_DOCS, DIM)).astype(np.float32)
# why: multilingual encoders give each language a shared offset larger than the meaning's spread
OFFSET = {"en": 3 * RNG.normal(size=DIM).astype(np.float32) / np.sqrt(DIM),
          "zh": 3 * RNG.normal(size=DIM).astype(np.float32) / np.sqrt(DIM)}


def _vector(topic: int, lang: str) -> np.ndarray:
    noise = RNG.normal(size=DIM).astype(np.float32) * 0.05
    return TOPICS[topic] / np.linalg.norm(TOPICS[topic]) + OFFSET[lang] + noise


def _library(tmp_path: Path) -> HybridIndex:
    """English moments on topics 0..N-1, Chinese ones on topics N..2N-1: no Chinese moment shares a topic."""
    index = HybridIndex(tmp_path, DIM, MODEL)
    n = CENTRE_MIN_DOCS
    index.add([IndexDoc(t, f"note {t}", "en", _vector(t, "en")) for t in range(n)])
    index.add([IndexDoc(t, f"备注 {t}", "zh", _vector(t, "zh")) for t in range(n, 2 * n)])
    return index


def test_chinese_query_finds_the_english_moment_of_its_topic_first(tmp_path: Path) -> None:
    index = _library(tmp_path)
    hits = index.search("价格", _vector(7, "zh"), k=5, query_lang="zh")
    assert hits[0].id == 7


def test_without_centres_the_same_query_stays_among_chinese_moments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(centring, "CENTRE_MIN_DOCS", 10**9)  # as in a library too small for centres
    index = _library(tmp_path)
    hits = index.search("价格", _vector(7, "zh"), k=5, query_lang="zh")
    assert index.centres == {} and all(h.id >= CENTRE_MIN_DOCS for h in hits)


def test_a_language_gets_its_centre_at_the_minimum_and_earlier_vectors_are_recentred(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, DIM, MODEL)
    vectors = [_vector(t, "zh") for t in range(CENTRE_MIN_DOCS)]
    index.add([IndexDoc(t, f"备注 {t}", "zh", v) for t, v in enumerate(vectors[:-1])])
    assert index.centres == {}
    index.add([IndexDoc(CENTRE_MIN_DOCS - 1, "备注", "zh", vectors[-1])])
    unit = np.stack(vectors) / np.linalg.norm(np.stack(vectors), axis=1, keepdims=True)
    assert np.allclose(index.centres["zh"], unit.mean(axis=0), atol=1e-5)
    first = index.search("zzz", vectors[0], k=1, query_lang="zh")[0]
    assert first.id == 0 and first.cosine is not None and first.cosine > 0.999


def test_centres_are_saved_and_reopened(tmp_path: Path) -> None:
    index = _library(tmp_path)
    index.save()
    reopened = HybridIndex(tmp_path, DIM, MODEL)
    assert reopened.centres.keys() == {"en", "zh"}
    assert all(np.array_equal(reopened.centres[k], v) for k, v in index.centres.items())
    assert reopened.search("价格", _vector(7, "zh"), k=1, query_lang="zh")[0].id == 7


def test_rebuild_recomputes_centres_from_every_document(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, DIM, MODEL)
    docs = [IndexDoc(t, f"note {t}", "en", _vector(t, "en")) for t in range(2 * CENTRE_MIN_DOCS)]
    index.add(docs[:CENTRE_MIN_DOCS])
    index.add(docs[CENTRE_MIN_DOCS:])
    frozen = index.centres["en"]
    index.rebuild(docs)
    unit = np.stack([d.vector / np.linalg.norm(d.vector) for d in docs])
    assert np.allclose(index.centres["en"], unit.mean(axis=0), atol=1e-5)
    assert not np.allclose(frozen, index.centres["en"], atol=1e-5)
