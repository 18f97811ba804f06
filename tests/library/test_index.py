"""HybridIndex: BM25 + usearch vectors fused by reciprocal rank, persisted under one directory."""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from app.library.index import (
    DELTA_MIN_ROWS,
    EXACT_FILTER_MAX,
    KEYWORDS_FILE,
    MANIFEST_FILE,
    RRF_K,
    VECTORS_FILE,
    HybridIndex,
    IndexCorruptError,
    IndexDoc,
    IndexMismatchError,
    rrf_fuse,
)
from app.library.text import tokenize

DIM = 16
MODEL = "test-hashing-16"


def embed(text: str) -> np.ndarray:
    """Deterministic bag-of-tokens embedding: each token hashed into one of DIM buckets."""
    vector = np.zeros(DIM, dtype=np.float32)
    for token in tokenize(text):
        vector[zlib.crc32(token.encode()) % DIM] += 1.0
    vector[DIM - 1] += 0.1  # never all-zero, so stopword-only text still has a direction
    return vector / np.linalg.norm(vector)


def doc(doc_id: int, text: str, lang: str = "en") -> IndexDoc:
    return IndexDoc(id=doc_id, text=text, lang=lang, vector=embed(text))


def unit(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def random_docs(n: int, seed: int = 0) -> list[IndexDoc]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    return [
        IndexDoc(id=i, text=f"call note {i}", lang="en", vector=v) for i, v in enumerate(vectors)
    ]


SNIPPETS = [
    doc(1, "Have you set aside a budget for this project?"),
    doc(2, "Who else is involved in the decision to buy?"),
    doc(3, "我理解，很多客户一开始也觉得价格太贵，但算上节省的人力成本其实更划算。", "zh"),
    doc(4, "What timeline are you working towards for the rollout?"),
    doc(5, "您这边的预算大概是多少？", "zh"),
]


@pytest.fixture
def index(tmp_path: Path) -> HybridIndex:
    built = HybridIndex(tmp_path / "idx", dim=DIM, model_name=MODEL)
    built.add(SNIPPETS)
    return built


def search_ids(index: HybridIndex, text: str, **kwargs: object) -> list[int]:
    return [hit.id for hit in index.search(text, embed(text), k=5, **kwargs)]  # type: ignore[arg-type]


def test_added_documents_are_found_by_their_words(index: HybridIndex) -> None:
    assert index.count == 5
    assert search_ids(index, "budget project")[0] == 1


def test_bm25_finds_an_exact_chinese_keyword_through_jieba(index: HybridIndex) -> None:
    hits = index.search("价格太贵", None, k=3)
    assert hits[0].id == 3
    assert hits[0].bm25_rank == 1 and hits[0].bm25_score > 0 and hits[0].cosine is None
    assert [h.id for h in hits] == [3]  # no other snippet shares a word with the query


def test_removed_id_never_comes_back_even_after_reopen(index: HybridIndex) -> None:
    index.remove([1, 999])
    assert 1 not in search_ids(index, "budget project")
    index.save()
    reopened = HybridIndex(index.directory, dim=DIM, model_name=MODEL)
    assert reopened.count == 4 and 1 not in reopened
    assert 1 not in search_ids(reopened, "budget project")


def test_adding_an_existing_id_replaces_it(index: HybridIndex) -> None:
    index.add([doc(1, "Let us talk about onboarding")])
    assert index.count == 5
    assert 1 not in search_ids(index, "budget project")[:1]
    assert search_ids(index, "onboarding")[0] == 1


def test_saved_index_reopens_with_the_same_results(index: HybridIndex) -> None:
    before = index.search("预算 budget", embed("预算 budget"), k=5)
    index.save()
    reopened = HybridIndex(index.directory, dim=DIM, model_name=MODEL)
    assert reopened.search("预算 budget", embed("预算 budget"), k=5) == before


def test_rrf_fuse_matches_hand_computed_scores() -> None:
    fused = dict(rrf_fuse([[10, 20, 30], [30, 10]]))
    assert fused[10] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[30] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[20] == pytest.approx(1 / 62)
    assert [i for i, _ in rrf_fuse([[10, 20, 30], [30, 10]])] == [10, 30, 20]


def test_hybrid_search_fuses_keyword_and_vector_ranks(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    index.add(
        [
            IndexDoc(1, "budget approval", "en", unit(1, 0, 0)),
            IndexDoc(2, "budget", "en", unit(0, 1, 0)),
            IndexDoc(3, "timeline", "en", unit(0, 0, 1)),
        ]
    )
    hits = index.search("budget approval", unit(0, 0.5, 1), k=3)
    # BM25 ranks 1, 2; cosine ranks 3 (0.89), 2 (0.45), 1 (0.0).
    assert [(h.id, h.bm25_rank, h.vector_rank) for h in hits] == [
        (1, 1, 3),
        (2, 2, 2),
        (3, None, 1),
    ]
    assert [h.score for h in hits] == pytest.approx(
        [1 / (RRF_K + 1) + 1 / (RRF_K + 3), 2 / (RRF_K + 2), 1 / (RRF_K + 1)]
    )
    assert hits[2].bm25_score == 0.0 and hits[2].cosine == pytest.approx(2 / 5**0.5)


def test_selective_filter_returns_the_exact_best_allowed_documents(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    docs = random_docs(3000)
    index.add(docs)
    allowed = {7, 123, 1500, 2999, 42}
    query = docs[0].vector / np.linalg.norm(docs[0].vector)
    hits = index.search("nothing matches this", query, k=3, allowed_ids=allowed)
    exact = sorted(
        allowed, key=lambda i: -float(docs[i].vector @ query / np.linalg.norm(docs[i].vector))
    )
    assert [h.id for h in hits] == exact[:3]


def _exact_best(
    index: HybridIndex, docs: list[IndexDoc], allowed: set[int], query: np.ndarray, k: int
) -> list[int]:
    """Brute force in the space the index compares: vectors centred on their language's mean."""
    stored = index.centred(np.stack([d.vector for d in docs]), [d.lang for d in docs])
    q = index.centred(query[None, :], ["en"])[0]
    cosine = {d.id: float(v @ q) for d, v in zip(docs, stored, strict=True)}
    return sorted(allowed, key=lambda i: (-cosine[i], i))[:k]


def test_filter_stays_exact_after_removals_renumber_the_rows(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    docs = random_docs(DELTA_MIN_ROWS + 2000, seed=5)
    index.add(docs)
    index.remove(range(0, DELTA_MIN_ROWS + 2000, 2))  # enough tombstones to compact on search
    live = [d for d in docs if d.id % 2]
    allowed = {d.id for d in live[::7]}
    query = live[3].vector / np.linalg.norm(live[3].vector)
    hits = index.search("nothing matches this", query, k=20, allowed_ids=allowed, query_lang="en")
    assert [h.id for h in hits] == _exact_best(index, live, allowed, query, 20)


def test_filter_sees_removals_and_re_additions_made_after_an_earlier_filtered_search(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    index.add([doc(i, f"note {i}") for i in range(1, 6)])
    assert {h.id for h in index.search("note", embed("note"), k=5, allowed_ids={1, 2, 3})} == {1, 2, 3}
    index.remove([2])
    index.add([doc(9, "note nine")])
    hits = index.search("note", embed("note"), k=5, allowed_ids={1, 2, 3, 9})
    assert {h.id for h in hits} == {1, 3, 9}


def test_filter_is_exact_after_reopening_the_saved_index(tmp_path: Path) -> None:
    docs = random_docs(3000, seed=6)
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    index.add(docs)
    index.save()
    allowed = {d.id for d in docs[::9]}
    query = docs[10].vector / np.linalg.norm(docs[10].vector)
    reopened = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    hits = reopened.search("nothing matches this", query, k=20, allowed_ids=allowed, query_lang="en")
    assert [h.id for h in hits] == _exact_best(reopened, docs, allowed, query, 20)


def test_broad_filter_over_fetches_and_keeps_only_allowed_ids(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    docs = random_docs(EXACT_FILTER_MAX + 1000)
    index.add(docs)
    allowed = {d.id for d in docs if d.id % 10 != 0}
    assert len(allowed) > EXACT_FILTER_MAX  # so the HNSW over-fetch path is the one tested
    hits = index.search("call note 11", docs[11].vector, k=10, allowed_ids=allowed)
    assert len(hits) == 10 and {h.id for h in hits} <= allowed
    assert hits[0].id == 11  # both rankings put the query's own document first


def test_filter_with_no_indexed_ids_returns_nothing(index: HybridIndex) -> None:
    assert index.search("budget", embed("budget"), k=5, allowed_ids={404}) == []


def test_empty_query_is_rejected_with_a_message_saying_so(index: HybridIndex) -> None:
    with pytest.raises(ValueError, match="search query is empty"):
        index.search("   ", embed("x"), k=5)


def test_vector_of_the_wrong_size_is_rejected(index: HybridIndex) -> None:
    with pytest.raises(ValueError, match=f"must have {DIM} dimensions"):
        index.add([IndexDoc(9, "text", "en", np.ones(DIM + 1, dtype=np.float32))])


def test_index_of_the_previous_format_is_reported_for_a_rebuild(index: HybridIndex) -> None:
    index.save()  # format 2 had no language centres: its vectors are not centred
    path = index.directory / MANIFEST_FILE
    path.write_text(json.dumps({**json.loads(path.read_text("utf-8")), "format": 2}), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="format 2"):
        HybridIndex(index.directory, dim=DIM, model_name=MODEL)


def test_corrupt_manifest_is_detected(index: HybridIndex) -> None:
    index.save()
    (index.directory / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        HybridIndex(index.directory, dim=DIM, model_name=MODEL)


def test_truncated_vector_file_is_detected(index: HybridIndex) -> None:
    index.save()
    path = index.directory / VECTORS_FILE
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match=VECTORS_FILE):
        HybridIndex(index.directory, dim=DIM, model_name=MODEL)


def test_tampered_keyword_file_with_matching_checksum_is_detected(index: HybridIndex) -> None:
    index.save()
    path = index.directory / KEYWORDS_FILE
    path.write_text('{"id": 1}\n', encoding="utf-8")
    manifest = json.loads((index.directory / MANIFEST_FILE).read_text())
    manifest["sha256"][KEYWORDS_FILE] = hashlib.sha256(path.read_bytes()).hexdigest()
    (index.directory / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="cannot read"):
        HybridIndex(index.directory, dim=DIM, model_name=MODEL)


def test_files_without_a_manifest_are_detected(index: HybridIndex) -> None:
    index.save()
    (index.directory / MANIFEST_FILE).unlink()
    with pytest.raises(IndexCorruptError):
        HybridIndex(index.directory, dim=DIM, model_name=MODEL)


def test_dimension_mismatch_is_detected(index: HybridIndex) -> None:
    index.save()
    with pytest.raises(IndexMismatchError, match="16 dims"):
        HybridIndex(index.directory, dim=32, model_name=MODEL)


def test_model_mismatch_is_detected(index: HybridIndex) -> None:
    index.save()
    with pytest.raises(IndexMismatchError, match="other-model"):
        HybridIndex(index.directory, dim=DIM, model_name="other-model")


def test_open_or_reset_replaces_unusable_files_with_an_empty_index(index: HybridIndex) -> None:
    index.save()
    reopened, reason = HybridIndex.open_or_reset(index.directory, dim=DIM, model_name="e5-small")
    assert reopened.count == 0 and reason is not None and "e5-small" in reason
    reopened.rebuild(SNIPPETS)
    reopened.save()
    assert HybridIndex(index.directory, dim=DIM, model_name="e5-small").count == 5


def test_reader_reloads_after_another_instance_saves(index: HybridIndex) -> None:
    index.save()
    reader = HybridIndex(index.directory, dim=DIM, model_name=MODEL)
    assert reader.reload_if_changed() is False
    index.remove([2])
    index.save()
    assert reader.reload_if_changed() is True and 2 not in reader


def test_searches_run_safely_while_one_writer_adds(tmp_path: Path) -> None:
    index = HybridIndex(tmp_path, dim=DIM, model_name=MODEL)
    docs = random_docs(400)
    index.add(docs[:100])
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for i in range(50):
                hits = index.search(f"call note {i}", docs[i].vector, k=5)
                assert len(hits) == 5
        except BaseException as exc:  # noqa: BLE001 - surfaced in the main thread below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    for start in range(100, 400, 50):
        index.add(docs[start : start + 50])
    for thread in readers:
        thread.join()
    assert errors == [] and index.count == 400


def test_filter_of_one_id_returns_that_document_with_its_scores(index: HybridIndex) -> None:
    hits = index.search("budget", embed("budget"), k=1, allowed_ids={4})
    assert [(h.id, h.bm25_score) for h in hits] == [(4, 0.0)]
    assert hits[0].vector_rank == 1 and hits[0].cosine == pytest.approx(
        float(embed("budget") @ SNIPPETS[3].vector)
    )


def test_index_module_then_onnxruntime_does_not_crash_the_process() -> None:
    """Regression: usearch imported before onnxruntime segfaulted the worker (VAD needs onnxruntime)."""
    import subprocess
    import sys

    code = (
        "import tempfile, pathlib, numpy as np; from app.library.index import HybridIndex, IndexDoc; "
        "d = pathlib.Path(tempfile.mkdtemp()); ix = HybridIndex(d, 4, 'm'); "
        "ix.add([IndexDoc(1, 'price', 'en', np.ones(4, np.float32) / 2)]); "
        "import onnxruntime; print('alive')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "alive" in result.stdout, result.stderr[-2000:]


def test_language_aware_fusion_lifts_a_cross_language_vector_match_over_a_keyword_only_one() -> None:
    from app.library.index import Hit
    from app.library.query import language_aware

    # doc 1: same language, matched only by a keyword (BM25 rank 1, vector rank 40);
    # doc 2: Chinese translation of the query, nearest by vector (rank 1), no shared words.
    hits = [Hit(1, 1 / 61 + 1 / 100, 1, 40, 3.2, 0.40), Hit(2, 1 / 61, None, 1, 0.0, 0.93)]
    ordered = language_aware(hits, query="price is too high", language_of=lambda i: "en" if i == 1 else "zh")
    assert [h.id for h in ordered] == [2, 1]
    assert ordered[0].score == 2 / 61
    same = language_aware(hits, query="price is too high", language_of=lambda i: "en")
    assert [h.id for h in same] == [1, 2], "within one language plain RRF stands"
