"""BM25 over the inverted index: exact scores, filters, updates, persistence, old formats."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.library.index import (
    BM25_B,
    BM25_K1,
    DELTA_MIN_ROWS,
    KEYWORDS_FILE,
    MANIFEST_FILE,
    HybridIndex,
    IndexCorruptError,
    IndexDoc,
    _Bm25,
)

WORDS = [f"w{i}" for i in range(40)]
DIM = 8
MODEL = "test-bm25"


def corpus(n: int, seed: int = 0) -> dict[int, list[str]]:
    """Random documents with Zipf-like word choice and repeated words, so tf > 1 occurs."""
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    return {
        i * 3 + 1: list(rng.choice(WORDS, size=int(rng.integers(1, 12)), p=p)) for i in range(n)
    }


def brute_force(docs: dict[int, list[str]], query: list[str]) -> dict[int, float]:
    """Okapi BM25 written out directly from its definition, for every document."""
    n = len(docs)
    mean = sum(len(t) for t in docs.values()) / n
    df = Counter(term for tokens in docs.values() for term in set(tokens))
    scores = {}
    for doc_id, tokens in docs.items():
        tf = Counter(tokens)
        total = 0.0
        for term in set(query):
            if tf[term]:
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens) / mean)
                total += idf * tf[term] * (BM25_K1 + 1) / (tf[term] + norm)
        scores[doc_id] = total
    return scores


def expected_top(
    scores: dict[int, float], depth: int, allowed: set[int] | None = None
) -> list[tuple[int, float]]:
    ranked = sorted(
        ((i, s) for i, s in scores.items() if s > 0 and (allowed is None or i in allowed)),
        key=lambda item: (-item[1], item[0]),
    )
    return ranked[:depth]


def assert_same_ranking(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12)


def filled(docs: dict[int, list[str]], batch: int = 50) -> _Bm25:
    bm25 = _Bm25()
    ids = list(docs)
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        bm25.add_many(part, ["en"] * len(part), [docs[i] for i in part])
    return bm25


QUERIES = [["w0"], ["w1", "w7"], ["w3", "w3", "w20", "w39"], ["w5", "nope"], ["w0", "w1", "w2"]]


@pytest.mark.parametrize("query", QUERIES)
def test_scores_equal_brute_force_bm25_on_a_small_corpus(query: list[str]) -> None:
    docs = corpus(300)
    assert_same_ranking(filled(docs).top(query, 1000), expected_top(brute_force(docs, query), 1000))


def test_scores_stay_exact_after_removals_and_replacements() -> None:
    docs = corpus(300)
    bm25 = filled(docs)
    bm25.top(["w1"], 10)  # build postings, so later writes go to the delta and tombstones
    for doc_id in list(docs)[::7]:
        bm25.remove(doc_id)
        del docs[doc_id]
    replaced = corpus(20, seed=5)
    for new_id, (old_id, _) in zip(replaced, list(docs.items())[:20], strict=True):
        docs[old_id] = replaced[new_id]
        bm25.add(old_id, "en", replaced[new_id])
    for query in QUERIES:
        assert_same_ranking(bm25.top(query, 1000), expected_top(brute_force(docs, query), 1000))


def test_compaction_keeps_scores_exact_and_drops_removed_rows() -> None:
    docs = corpus(DELTA_MIN_ROWS + 500, seed=2)
    bm25 = filled(docs, batch=1000)
    bm25.optimize()
    for doc_id in list(docs)[: DELTA_MIN_ROWS + 100]:  # more tombstones than the limit
        bm25.remove(doc_id)
        del docs[doc_id]
    bm25.optimize()
    assert bm25._rows == len(docs) == 400 and not bm25._dead
    for query in QUERIES:
        assert_same_ranking(bm25.top(query, 50), expected_top(brute_force(docs, query), 50))


def test_filter_returns_the_exact_best_allowed_documents() -> None:
    docs = corpus(300)
    bm25 = filled(docs)
    allowed = set(list(docs)[::5]) | {999_999}  # an unknown id is ignored
    for query in QUERIES:
        want = expected_top(brute_force(docs, query), 10, allowed)
        assert_same_ranking(bm25.top(query, 10, allowed_ids=allowed), want)
    assert bm25.top(["w0"], 10, allowed_ids={999_999}) == []
    assert_same_ranking(bm25.top(["w0"], 5), expected_top(brute_force(docs, ["w0"]), 5))


def test_score_of_matches_the_ranking_and_is_zero_without_a_match() -> None:
    docs = corpus(200)
    bm25 = filled(docs)
    top = bm25.top(["w1", "w4"], 200)
    assert bm25.score_of(["w1", "w4"], [i for i, _ in top]) == [s for _, s in top]
    unmatched = next(i for i, t in docs.items() if not {"w1", "w4"} & set(t))
    assert bm25.score_of(["w1", "w4"], [unmatched, 424242]) == [0.0, 0.0]


def test_score_of_is_exact_with_unmerged_additions_and_removals() -> None:
    docs = corpus(300)
    bm25 = filled(docs)
    bm25.optimize()
    extra = corpus(DELTA_MIN_ROWS // 2, seed=7)
    extra = {doc_id + 10_000: tokens for doc_id, tokens in extra.items()}  # still in the delta
    for doc_id, tokens in extra.items():
        bm25.add(doc_id, "en", tokens)
    gone = list(docs)[::7]
    for doc_id in gone:
        bm25.remove(doc_id)
    live = {i: t for i, t in {**docs, **extra}.items() if i not in set(gone)}
    for query in (["w1", "w4"], ["w0", "w2", "w9"], ["w33"]):
        want = brute_force(live, query)
        ids = [*live, *gone[:3], 424242]
        got = bm25.score_of(query, ids)
        assert got == pytest.approx([want.get(i, 0.0) for i in ids], rel=1e-12, abs=1e-12)


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def hybrid(tmp_path: Path) -> tuple[HybridIndex, dict[int, str]]:
    texts = {i: " ".join(tokens) for i, tokens in corpus(120).items()}
    texts[1000] = "价格太贵 预算 w3"
    index = HybridIndex(tmp_path / "idx", dim=DIM, model_name=MODEL)
    index.add([IndexDoc(i, t, "zh" if i == 1000 else "en", vector(i)) for i, t in texts.items()])
    return index, texts


def test_saved_index_round_trips_with_identical_hits(tmp_path: Path) -> None:
    index, _ = hybrid(tmp_path)
    index.remove([1, 4])  # tombstones are not saved, the statistics must still agree
    before = [index.search(q, vector(7), k=10) for q in ("w3 w9", "价格 预算", "w0")]
    index.save()
    reopened = HybridIndex(index.directory, dim=DIM, model_name=MODEL)
    assert reopened.ids() == index.ids() and 1 not in reopened
    assert [reopened.search(q, vector(7), k=10) for q in ("w3 w9", "价格 预算", "w0")] == before
    assert reopened._bm25._lang_names == ["en", "zh"]


def test_hybrid_filter_keeps_keyword_hits_inside_the_allowed_set(tmp_path: Path) -> None:
    index, texts = hybrid(tmp_path)
    allowed = {i for i in texts if i % 2 == 0}
    hits = index.search("w0 w3", None, k=20, allowed_ids=allowed)
    assert hits and {h.id for h in hits} <= allowed
    assert all(h.bm25_score > 0 for h in hits)


def test_old_format_index_is_reported_corrupt_and_reset(tmp_path: Path) -> None:
    index, _ = hybrid(tmp_path)
    index.save()
    directory = index.directory
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest["format"] = 1  # what the previous release wrote, next to keywords.jsonl
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))
    (directory / "keywords.jsonl").write_text('{"id": 1, "lang": "en", "tokens": ["w1"]}\n')
    (directory / KEYWORDS_FILE).unlink()
    with pytest.raises(IndexCorruptError, match="index format 1"):
        HybridIndex(directory, dim=DIM, model_name=MODEL)
    reopened, reason = HybridIndex.open_or_reset(directory, dim=DIM, model_name=MODEL)
    assert reopened.count == 0 and reason is not None and "format 1" in reason
    assert not (directory / "keywords.jsonl").exists()


def test_keyword_arrays_that_disagree_are_reported_corrupt(tmp_path: Path) -> None:
    index, _ = hybrid(tmp_path)
    arrays = index._bm25.to_arrays()
    arrays["lengths"] = arrays["lengths"] + 1  # lengths no longer sum the term frequencies
    with pytest.raises(ValueError, match="inconsistent"):
        _Bm25.from_arrays(arrays)


def _rare_and_common_corpus(n: int, seed: int) -> dict[int, list[str]]:
    """Mostly common words w0..w4, and a rare word r<k> in about one document in fifty."""
    rng = np.random.default_rng(seed)
    docs = {}
    for i in range(n):
        words = list(rng.choice(WORDS[:5], size=int(rng.integers(2, 9))))
        if rng.random() < 0.02:
            words.append(f"r{int(rng.integers(0, 3))}")
        docs[i * 3 + 1] = words
    return docs


@pytest.mark.parametrize("depth", [1, 5, 20])
def test_pruned_rankings_equal_brute_force_with_tombstones_delta_and_filters(depth: int) -> None:
    docs = _rare_and_common_corpus(3000, seed=11)
    bm25 = filled(docs, batch=500)
    bm25.optimize()
    for doc_id in list(docs)[::9]:  # tombstones in the main postings
        bm25.remove(doc_id)
        del docs[doc_id]
    extra = _rare_and_common_corpus(200, seed=12)
    for new_id, tokens in extra.items():  # rows in the delta postings
        docs[new_id + 100_000] = tokens
        bm25.add(new_id + 100_000, "en", tokens)
    allowed = set(list(docs)[::3])
    for query in (["r0", "w0"], ["r1", "w0", "w1", "w2"], ["w0", "w3"], ["r2", "r0", "w4"]):
        scores = brute_force(docs, query)
        assert_same_ranking(bm25.top(query, depth), expected_top(scores, depth))
        assert_same_ranking(bm25.top(query, depth, allowed_ids=allowed), expected_top(scores, depth, allowed))


def test_rare_word_query_reads_the_common_words_postings_only_for_its_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = _rare_and_common_corpus(3000, seed=13)
    bm25 = filled(docs, batch=500)
    read: list[int] = []
    original = bm25._accumulate
    monkeypatch.setattr(bm25, "_accumulate", lambda terms, filtered: read.append(len(terms))
                        or original(terms, filtered))  # fmt: skip
    got = bm25.top(["r0", "w0", "w1"], 5)
    assert read == [1]  # the rare word's postings alone decided the top 5
    assert_same_ranking(got, expected_top(brute_force(docs, ["r0", "w0", "w1"]), 5))
