"""Hybrid keyword + vector search index for the clip / snippet / talk-track library.

Two rankings are fused with reciprocal-rank fusion (Cormack et al., 2009):
``score(d) = sum over rankings r of 1 / (RRF_K + rank_r(d))``, ranks starting at 1, RRF_K = 60,
each ranking cut at ``max(k, CANDIDATE_DEPTH)``. RRF needs no score calibration between BM25
(unbounded) and cosine (-1..1), and the constant 60 keeps a single top-1 from dominating.

- Keyword: Okapi BM25 (k1 = 1.5, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))) over
  tokens from app.library.text, on an inverted index: a query sums only its terms' postings
  (O(postings), not O(documents)); document frequencies and lengths are kept exact on every
  add/remove, so scores are exactly BM25 over the live documents at all times (_Bm25).
- Vector: usearch HNSW, cosine metric, persisted in ``vectors.usearch``. Vectors are stored
  centred on their language's mean (app.library.centring: a query finds results in the other
  language); a query passes its language to be centred the same way.
- Filters: ``allowed_ids`` is applied exactly. BM25 drops postings outside the allowed set;
  the vector side over-fetches from HNSW and falls back to exact cosine over the allowed set
  when the filter is selective or the over-fetch comes back short.

Files under ``directory``: ``vectors.usearch``, ``keywords.npz`` (the forward index: ids,
languages, lengths, each document's distinct terms and frequencies, the vocabulary, the
language centres) and
``manifest.json`` (format, model, dim, count, generation, sha256 of both files), each written
to a temporary file and renamed; the manifest goes last, so a crash mid-save leaves a checksum
mismatch that opening reports as IndexCorruptError. An index of an older format (1: a
``keywords.jsonl``) is reported the same way, so the service rebuilds it from the database.
One lock serialises every operation: one writer and any number of reader threads per process.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import threading
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from app.errors import AppError
from app.library import centring
from app.library.text import tokenize

if TYPE_CHECKING:
    from usearch.index import Index


def _usearch() -> Any:
    """usearch's Index class, imported on first use (the web app starts without it).

    why onnxruntime first: importing onnxruntime *after* usearch kills the process with a
    segfault (their bundled native libraries clash; seen with usearch 2.26.6 + onnxruntime
    1.32.0). Workers need both (faster-whisper's VAD runs on onnxruntime).
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError:  # pragma: no cover - onnxruntime comes with faster-whisper
        pass
    from usearch.index import Index

    return Index

# The vector ranking of a hybrid search runs on this pool while the caller's thread ranks by
# BM25: usearch releases the GIL while it searches (and numpy for its large array work), so on
# two or more cores one search costs about its slower half rather than both. The lock around
# each search keeps the two halves from ever meeting a writer. One pool per process: a pool
# inherited through fork() has no threads behind it.
_SIDE: Any = None
_SIDE_PID = 0


def _side() -> Any:
    global _SIDE, _SIDE_PID
    if _SIDE is None or _SIDE_PID != os.getpid():
        _SIDE, _SIDE_PID = ThreadPoolExecutor(2, thread_name_prefix="hybrid-vector"), os.getpid()
    return _SIDE

RRF_K = 60
CANDIDATE_DEPTH = 100
BM25_K1 = 1.5
BM25_B = 0.75
# Format 3: keywords.npz (forward index arrays) with the language centres; format 2 lacked the
# centres (its vectors are not centred) and format 1 was keywords.jsonl: both are reported as
# IndexCorruptError, so the service rebuilds them from the database.
FORMAT_VERSION = 3
MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.usearch"
KEYWORDS_FILE = "keywords.npz"
LEGACY_FILES = ("keywords.jsonl",)
# Rows added since the last compaction get their own small postings ("delta"), rebuilt on
# the next search after a write; past max(DELTA_MIN_ROWS, rows / DELTA_RATIO) of them (or as
# many removed rows) everything is merged into the main postings again: a search after one
# add costs O(delta), and a full re-sort is amortised over many adds.
DELTA_MIN_ROWS = 4096
DELTA_RATIO = 32
# A filter leaving at most this many documents, or under 1/EXACT_FILTER_RATIO of the index,
# is scored exactly: cheaper than an HNSW over-fetch deep enough to find k of them.
EXACT_FILTER_MAX = 4096
EXACT_FILTER_RATIO = 20
# An index of at most this many documents is searched exactly even without a filter: as cheap
# as HNSW at that size, and the answer does not depend on the graph (which differs between an
# index grown one call at a time and one rebuilt at once, and between runs of a multi-threaded
# build), so a rebuilt index answers exactly as the one it replaced.
EXACT_ALL_MAX = 4096
# HNSW settings, chosen on bench/search.py at 1M (clustered 384-dim vectors, top 10 of the 100
# fetched, recall@10 against exact search, same machine): connectivity 16 / expansion_add 64 gave
# 0.905 / 0.930 at expansion_search 256 / 512; 32 / 64 gave 0.889 / 0.942 (HNSW build 2,568 s);
# 32 / 128 gave 0.981 / 0.996 (0.996 from 384 on; build 3,089 s, p50 4.9 / 5.7 ms at 256 / 384).
# The first two ran before vectors were centred per language (centring.py), the last after;
# centring itself hardly moves recall (300k, 16 / 64: 0.960 raw vs 0.966 centred at 256).
HNSW_CONNECTIVITY = 32
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 384


class IndexCorruptError(AppError):
    """The files on disk cannot be used; rebuild the index from the database."""

    status_code = 503


class SearchInputError(AppError, ValueError):
    """A query or document the index cannot take (empty query, wrong vector size)."""

    status_code = 422


class IndexMismatchError(IndexCorruptError):
    """The files were built for another embedding model or dimension; rebuild the index."""


@dataclass(frozen=True)
class IndexDoc:
    """One searchable item: database id, text, language code and its embedding."""

    id: int
    text: str
    lang: str
    vector: np.ndarray


@dataclass(frozen=True)
class Hit:
    """One fused result: ranks are 1-based (None: not in that ranking's candidates); raw
    bm25_score (0 when no term matched) and cosine (None without a query vector; between the
    language-centred vectors) explain it."""

    id: int
    score: float
    bm25_rank: int | None
    vector_rank: int | None
    bm25_score: float
    cosine: float | None


def rrf_fuse(rankings: Sequence[Sequence[int]], *, rrf_k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists by reciprocal rank; ties broken by id for a stable order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class _Postings(NamedTuple):
    """Term-major postings: rows and term frequencies of term t are [indptr[t], indptr[t+1])."""

    indptr: np.ndarray  # int64, one more than the number of terms it covers
    rows: np.ndarray  # int32
    tf: np.ndarray  # int32

    @classmethod
    def of(cls, rows: np.ndarray, terms: np.ndarray, tf: np.ndarray, n_terms: int) -> _Postings:
        """Invert (row, term, tf) triples; a stable sort keeps each term's rows ascending."""
        order = np.argsort(terms, kind="stable")
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
        return cls(indptr, rows[order].astype(np.int32), tf[order])

    def of_term(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.indptr):
            return _EMPTY_I32, _EMPTY_I32
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.rows[lo:hi], self.tf[lo:hi]


class _Chunk(NamedTuple):
    """Forward index of consecutive rows from first_row: row r's distinct terms and their
    frequencies are terms/tf[indptr[r - first_row]:indptr[r - first_row + 1]]."""

    first_row: int
    indptr: np.ndarray  # int64
    terms: np.ndarray  # int32
    tf: np.ndarray  # int32


_EMPTY_I32 = np.zeros(0, dtype=np.int32)


class _Bm25:
    """Exact Okapi BM25 over an inverted index; a query touches only its terms' postings.

    Documents live in rows (a row per add, never reused until compaction). Each row keeps its
    distinct terms with frequencies (the forward index, for removal and saving); postings are
    a large immutable main part plus a small delta for rows added since, rebuilt lazily. Live
    document frequencies and the total length are kept exact on every add and remove, so the
    idf and length normalisation are computed at query time and scores never go stale; removed
    rows stay in the postings as tombstones, skipped at query time, until compaction drops
    them. Not thread-safe: HybridIndex serialises access.
    """

    def __init__(self) -> None:
        self.docs: dict[int, int] = {}  # document id -> row, live documents only
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._lang_code: dict[str, int] = {}
        self._lang_names: list[str] = []
        self._row_id = np.zeros(0, dtype=np.int64)
        self._row_len = np.zeros(0, dtype=np.int32)
        self._row_lang = np.zeros(0, dtype=np.uint8)
        # A bfloat16 copy of each row's (centred) vector, stored as the upper 16 bits of each
        # float32: a filter's allowed rows are scored from it in one matrix product (usearch hands
        # vectors back one Python object per key), and it widens back to float32 with integer
        # shifts (numpy's float16 conversion was the slowest step at 20,000 rows).
        self._row_vec = np.zeros((0, 0), dtype=np.uint16)
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None  # sorted live ids, their rows
        self._live = np.zeros(0, dtype=bool)
        self._rows = 0
        self._dead = 0
        self._chunks: list[_Chunk] = []
        self._starts: list[int] = []  # first_row of each chunk, for bisect
        self._df = np.zeros(0, dtype=np.int64)
        self._total_len = 0
        self._main = _Postings(np.zeros(1, np.int64), _EMPTY_I32, _EMPTY_I32)
        self._main_rows = 0
        self._delta: _Postings | None = None
        self._scratch = np.zeros(0, dtype=np.float64)
        self._marker = np.zeros(0, dtype=np.int64)
        self._allowed = np.zeros(0, dtype=bool)

    # ---- writing -------------------------------------------------------------------------

    def add(self, doc_id: int, lang: str, tokens: list[str]) -> None:
        """Add or replace one document."""
        self.add_many([doc_id], [lang], [tokens])

    def add_many(
        self,
        ids: Sequence[int],
        langs: Sequence[str],
        tokens: Sequence[list[str]],
        vectors: np.ndarray | None = None,
    ) -> None:
        """Add or replace documents (ids unique within the call), as one new chunk of rows."""
        if not ids:
            return
        for doc_id in ids:
            self.remove(doc_id)
        codes = np.fromiter(
            (self._code(t) for toks in tokens for t in toks), np.int64, sum(map(len, tokens))
        )
        lengths = np.fromiter(map(len, tokens), np.int64, len(tokens))
        local = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        n_terms = len(self._terms)
        keys, tf = np.unique(local * n_terms + codes, return_counts=True)
        terms = (keys % n_terms).astype(np.int32) if n_terms else _EMPTY_I32
        indptr = np.searchsorted(keys // max(n_terms, 1), np.arange(len(ids) + 1))
        self._chunks.append(_Chunk(self._rows, indptr.astype(np.int64), terms, tf.astype(np.int32)))
        self._starts.append(self._rows)
        self._reserve(self._rows + len(ids))
        rows = slice(self._rows, self._rows + len(ids))
        self._row_id[rows] = ids
        self._row_len[rows] = lengths
        self._row_lang[rows] = [self._lang(lang) for lang in langs]
        self._live[rows] = True
        if vectors is not None:
            self._write_vectors(np.arange(rows.start, rows.stop), vectors)
        self.docs.update(zip(ids, range(self._rows, self._rows + len(ids)), strict=True))
        self._lookup = None
        self._rows += len(ids)
        if len(self._df) < n_terms:
            self._df = np.concatenate([self._df, np.zeros(n_terms - len(self._df), np.int64)])
        self._df += np.bincount(terms, minlength=len(self._df))
        self._total_len += int(lengths.sum())
        self._delta = None

    def remove(self, doc_id: int) -> None:
        """Remove a document (unknown ids are ignored): exact statistics, tombstoned row."""
        row = self.docs.pop(doc_id, None)
        if row is None:
            return
        self._lookup = None
        terms, _ = self._forward(row)
        self._df[terms] -= 1
        self._total_len -= int(self._row_len[row])
        self._live[row] = False
        self._dead += 1

    def set_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Replace the vector copy of present documents."""
        self._write_vectors(np.fromiter((self.docs[i] for i in ids), np.int64, len(ids)), vectors)

    def _write_vectors(self, rows: np.ndarray, vectors: np.ndarray) -> None:
        if self._row_vec.shape[1] != vectors.shape[1]:  # the first vectors fix the width
            self._row_vec = np.zeros((len(self._row_id), vectors.shape[1]), dtype=np.uint16)
        self._row_vec[rows] = _to_bfloat16(vectors)

    def row_ids(self, rows: np.ndarray) -> np.ndarray:
        return self._row_id[rows]

    def row_dots(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Dot products of the rows' stored vectors with query, a cache-sized slice at a time
        (gathering and widening all 20,000 rows of a filter first took 4x as long)."""
        out = np.empty(len(rows), dtype=np.float32)
        wide = np.empty((min(len(rows), 2048), self._row_vec.shape[1]), dtype=np.uint32)
        for start in range(0, len(rows), 2048):
            part = rows[start : start + 2048]
            np.left_shift(np.take(self._row_vec, part, axis=0), 16, out=wide[: len(part)], dtype=np.uint32)
            out[start : start + len(part)] = wide[: len(part)].view(np.float32) @ query
        return out

    def rows_of(self, ids: Iterable[int]) -> np.ndarray:
        """Rows of the live documents among ids (unknown ids are skipped), by binary search."""
        if self._lookup is None:  # rebuilt after writes: one sort, then every filter is cheap
            live = np.flatnonzero(self._live[: self._rows])
            order = np.argsort(self._row_id[live], kind="stable")
            self._lookup = (self._row_id[live][order], live[order])
        keys, rows = self._lookup
        wanted = np.unique(np.fromiter(ids, np.int64))
        if not len(keys) or not len(wanted):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        return rows[at[keys[at] == wanted]]

    def ids_of_language(self, lang: str) -> np.ndarray:
        """Ids of the live documents in one language."""
        code = self._lang_code.get(lang)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        rows = np.flatnonzero(self._live[: self._rows] & (self._row_lang[: self._rows] == code))
        return self._row_id[rows]

    def _code(self, token: str) -> int:
        code = self._vocab.get(token)
        if code is None:
            code = self._vocab[token] = len(self._terms)
            self._terms.append(token)
        return code

    def _lang(self, lang: str) -> int:
        code = self._lang_code.get(lang)
        if code is None:
            if len(self._lang_names) >= 255:
                raise SearchInputError("more than 255 distinct language codes in one index")
            code = self._lang_code[lang] = len(self._lang_names)
            self._lang_names.append(lang)
        return code

    def _reserve(self, rows: int) -> None:
        """Grow the per-row arrays geometrically, so adding one document stays cheap."""
        if rows <= len(self._row_id):
            return
        size = max(rows, 2 * len(self._row_id), 1024)
        for name in ("_row_id", "_row_len", "_row_lang", "_live", "_row_vec"):
            old = getattr(self, name)
            new = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _forward(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct term codes of a row and their frequencies."""
        chunk = self._chunks[bisect.bisect_right(self._starts, row) - 1]
        lo, hi = chunk.indptr[row - chunk.first_row], chunk.indptr[row - chunk.first_row + 1]
        return chunk.terms[lo:hi], chunk.tf[lo:hi]

    # ---- postings ------------------------------------------------------------------------

    def optimize(self) -> None:
        """Bring the postings up to date now (a search does it lazily otherwise)."""
        pending = self._rows - self._main_rows
        if pending > max(DELTA_MIN_ROWS, self._main_rows // DELTA_RATIO) or (
            self._dead > max(DELTA_MIN_ROWS, len(self.docs) // 4)
        ):
            self._compact()
        elif self._delta is None:
            self._delta = self._invert(self._chunks[self._first_delta_chunk() :])

    def _first_delta_chunk(self) -> int:
        return next(
            (i for i, c in enumerate(self._chunks) if c.first_row >= self._main_rows),
            len(self._chunks),
        )

    def _invert(self, chunks: Sequence[_Chunk]) -> _Postings:
        if not chunks:
            return _Postings(np.zeros(1, np.int64), _EMPTY_I32, _EMPTY_I32)
        rows = np.concatenate(
            [
                c.first_row + np.repeat(np.arange(len(c.indptr) - 1), np.diff(c.indptr))
                for c in chunks
            ]
        )
        terms = np.concatenate([c.terms for c in chunks])
        tf = np.concatenate([c.tf for c in chunks])
        return _Postings.of(rows, terms, tf, len(self._terms))

    def _compact(self) -> None:
        """Merge every chunk into one, drop removed rows, and rebuild the main postings."""
        counts = np.concatenate([np.diff(c.indptr) for c in self._chunks] or [_EMPTY_I32])
        terms = np.concatenate([c.terms for c in self._chunks] or [_EMPTY_I32])
        tf = np.concatenate([c.tf for c in self._chunks] or [_EMPTY_I32])
        live = self._live[: self._rows]
        if self._dead:
            keep = np.repeat(live, counts)
            terms, tf, counts = terms[keep], tf[keep], counts[live]
            for name in ("_row_id", "_row_len", "_row_lang", "_row_vec"):
                setattr(self, name, getattr(self, name)[: self._rows][live].copy())
            self._rows = len(self._row_id)
            self._live = np.ones(self._rows, dtype=bool)
            self.docs = dict(zip(self._row_id.tolist(), range(self._rows), strict=True))
            self._lookup = None
            self._dead = 0
        indptr = np.zeros(self._rows + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        self._chunks = [_Chunk(0, indptr, terms, tf)] if self._rows else []
        self._starts = [0] if self._rows else []
        self._main = self._invert(self._chunks)
        self._main_rows = self._rows
        self._delta = self._invert([])

    # ---- scoring -------------------------------------------------------------------------

    def _query_terms(self, query_tokens: Iterable[str]) -> list[tuple[int, float]]:
        """(term code, idf) of each distinct query term present, in a fixed (string) order."""
        n = len(self.docs)
        found = []
        for term in sorted(set(query_tokens)):
            code = self._vocab.get(term)
            if code is not None and self._df[code] > 0:
                df = int(self._df[code])
                found.append((code, math.log(1 + (n - df + 0.5) / (df + 0.5))))
        return found

    def _weights(self, idf: float, tf: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """BM25 term weight for each (row, tf); the one formula every path uses."""
        mean_length = self._total_len / max(len(self.docs), 1)
        norm = BM25_K1 * (1 - BM25_B + BM25_B * self._row_len[rows] / max(mean_length, 1e-9))
        return idf * tf * (BM25_K1 + 1) / (tf + norm)

    def top(
        self,
        query_tokens: Iterable[str],
        depth: int,
        allowed_ids: set[int] | None = None,
        *,
        allowed_rows: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The depth best (document id, BM25 score) with a positive score, best first, ties by id.

        A filter is given as ids, or as their rows (rows_of) when the caller has them already.
        """
        terms = self._query_terms(query_tokens)
        if not terms or depth < 1:
            return []
        self.optimize()
        if allowed_ids is not None and allowed_rows is None:
            allowed_rows = self.rows_of(allowed_ids)
        if allowed_rows is not None:
            if len(allowed_rows) == 0:
                return []
            if len(self._allowed) < self._rows:
                self._allowed = np.zeros(len(self._row_id), dtype=bool)
            self._allowed[allowed_rows] = True
        try:
            rows, scores = self._pruned(terms, depth, allowed_rows is not None)
        finally:
            if allowed_rows is not None:
                self._allowed[allowed_rows] = False
        return _top(self._row_id[rows], scores, depth)

    def _pruned(
        self, terms: list[tuple[int, float]], depth: int, filtered: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and exact scores that include the depth best: MaxScore (Turtle & Flood, 1995).

        A term adds less than idf·(k1 + 1) to any score (tf / (tf + norm) < 1). Take the terms
        with the largest such bounds first ("essential"), score every document that has one of
        them, and let d be the depth-th best of their scores from those terms alone (a lower
        bound of their full scores): a document with none of them scores below the sum of the
        other terms' bounds, so when that sum is at most d the depth best are all among them,
        and only they get full scores. A query of one rare and some common words
        then reads the common words' long postings only for the rare word's documents.
        """
        if len(terms) < 2:
            return self._accumulate(terms, filtered)
        bound = {code: idf * (BM25_K1 + 1) for code, idf in terms}
        length = {code: self._postings_length(code) for code, _ in terms}
        order = sorted(terms, key=lambda t: (-bound[t[0]], t[0]))
        read = 0
        for essential in range(1, len(order)):
            read += length[order[essential - 1][0]]
            if 8 * read > sum(length.values()):  # pays off only when it reads far less than all
                break
            rows, partial = self._accumulate(order[:essential], filtered)
            if len(rows) < depth:
                continue
            # The partial scores bound the exact ones from below: decide before any lookup.
            nth = np.partition(partial, len(partial) - depth)[len(partial) - depth]
            if sum(bound[code] for code, _ in order[essential:]) <= nth:
                return rows, self._scores_of_rows(terms, rows)
        return self._accumulate(terms, filtered)

    def _postings_length(self, code: int) -> int:
        return sum(len(p.of_term(code)[0]) for p in (self._main, self._delta))  # type: ignore[union-attr]

    def _scores_of_rows(self, terms: list[tuple[int, float]], rows: np.ndarray) -> np.ndarray:
        """Exact BM25 of live rows, terms added in the same order as _accumulate adds them."""
        scores = np.zeros(len(rows), dtype=np.float64)
        for code, idf in terms:
            for postings in (self._main, self._delta):
                found, tf = postings.of_term(code)  # type: ignore[union-attr]
                if not len(found):
                    continue
                at = np.minimum(np.searchsorted(found, rows), len(found) - 1)  # rows ascend per term
                hit = np.flatnonzero(found[at] == rows)
                scores[hit] += self._weights(idf, tf[at[hit]], rows[hit])
        return scores

    def _accumulate(
        self, terms: list[tuple[int, float]], filtered: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sum term weights over the union of the terms' postings: O(postings), not O(documents)."""
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for code, idf in terms:
            for postings in (self._main, self._delta):
                rows, tf = postings.of_term(code)  # type: ignore[union-attr]
                if self._dead and len(rows):
                    keep = self._live[rows]
                    rows, tf = rows[keep], tf[keep]
                if filtered and len(rows):
                    keep = self._allowed[rows]
                    rows, tf = rows[keep], tf[keep]
                if len(rows):
                    parts.append((rows, self._weights(idf, tf, rows)))
        if not parts:
            return _EMPTY_I32, np.zeros(0, dtype=np.float64)
        if len(parts) == 1 or len(terms) == 1:  # one term: its rows are already distinct
            return np.concatenate([r for r, _ in parts]), np.concatenate([w for _, w in parts])
        if len(self._scratch) < self._rows:
            self._scratch = np.zeros(len(self._row_id), dtype=np.float64)
            self._marker = np.zeros(len(self._row_id), dtype=np.int64)
        for rows, weights in parts:  # rows are distinct within a part, so += adds each once
            self._scratch[rows] += weights
        every = np.concatenate([r for r, _ in parts])
        position = np.arange(len(every))
        self._marker[every] = position  # one write per row survives: keeps each row once
        rows = every[self._marker[every] == position]
        scores = self._scratch[rows]
        self._scratch[rows] = 0.0
        return rows, scores

    def score_of(self, query_tokens: Iterable[str], doc_ids: Sequence[int]) -> list[float]:
        """Exact BM25 score of given documents (0 for no match or unknown id), from the postings
        in one pass per term (a loop over documents was a quarter of a search's time)."""
        terms = self._query_terms(query_tokens)
        scores = np.zeros(len(doc_ids), dtype=np.float64)
        if not terms:
            return scores.tolist()
        self.optimize()  # first: a compaction renumbers rows
        rows = np.fromiter((self.docs.get(doc_id, -1) for doc_id in doc_ids), np.int64, len(doc_ids))
        known = np.flatnonzero(rows >= 0)
        if len(known):
            scores[known] = self._scores_of_rows(terms, rows[known])
        return scores.tolist()

    def scores(self, query_tokens: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every live document id with its BM25 score (0 when nothing matches): for benchmarks."""
        self.optimize()
        rows, scores = self._accumulate(self._query_terms(query_tokens), False)
        dense = np.zeros(self._rows, dtype=np.float64)
        dense[rows] = scores
        live = self._live[: self._rows]
        return self._row_id[: self._rows][live], dense[live]

    # ---- persistence ---------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Live documents as flat arrays (forward index, vocabulary as JSON bytes)."""
        counts = np.concatenate([np.diff(c.indptr) for c in self._chunks] or [_EMPTY_I32])
        terms = np.concatenate([c.terms for c in self._chunks] or [_EMPTY_I32])
        tf = np.concatenate([c.tf for c in self._chunks] or [_EMPTY_I32])
        live = self._live[: self._rows]
        keep = np.repeat(live, counts)
        indptr = np.zeros(int(live.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[live], out=indptr[1:])
        return {
            "ids": self._row_id[: self._rows][live], "lengths": self._row_len[: self._rows][live],
            "langs": self._row_lang[: self._rows][live], "indptr": indptr,
            "terms": terms[keep], "tf": tf[keep],
            "vocab": _json_bytes(self._terms), "lang_names": _json_bytes(self._lang_names),
        }  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> _Bm25:
        """Inverse of to_arrays; ValueError when the arrays do not describe a valid index."""
        bm25 = cls()
        ids = np.asarray(arrays["ids"], dtype=np.int64)
        lengths = np.asarray(arrays["lengths"], dtype=np.int32)
        langs = np.asarray(arrays["langs"], dtype=np.uint8)
        indptr = np.asarray(arrays["indptr"], dtype=np.int64)
        terms = np.asarray(arrays["terms"], dtype=np.int32)
        tf = np.asarray(arrays["tf"], dtype=np.int32)
        vocab, lang_names = (
            _from_json_bytes(arrays["vocab"]),
            _from_json_bytes(arrays["lang_names"]),
        )
        n = len(ids)
        if (
            not (len(lengths) == len(langs) == n and len(indptr) == n + 1 and len(terms) == len(tf))
            or indptr[0] != 0 or indptr[-1] != len(terms) or (np.diff(indptr) < 0).any()
            or (n and int(langs.max()) >= len(lang_names))
            or (len(terms) and (int(terms.min()) < 0 or int(terms.max()) >= len(vocab)))
            or (tf < 1).any() or len(np.unique(ids)) != n
            or not _lengths_match(tf, indptr, lengths)
        ):  # fmt: skip
            raise ValueError("keyword arrays are inconsistent")
        bm25._terms = [str(t) for t in vocab]
        bm25._vocab = {t: i for i, t in enumerate(bm25._terms)}
        bm25._lang_names = [str(x) for x in lang_names]
        bm25._lang_code = {x: i for i, x in enumerate(bm25._lang_names)}
        bm25._row_id, bm25._row_len, bm25._row_lang = ids, lengths, langs
        bm25._row_vec = np.zeros((n, 0), dtype=np.uint16)
        bm25._live = np.ones(n, dtype=bool)
        bm25._rows = n
        bm25.docs = dict(zip(ids.tolist(), range(n), strict=True))
        bm25._df = np.bincount(terms, minlength=len(vocab)).astype(np.int64)
        bm25._total_len = int(lengths.sum())
        bm25._chunks = [_Chunk(0, indptr, terms, tf)] if n else []
        bm25._starts = [0] if n else []
        bm25._main = bm25._invert(bm25._chunks)
        bm25._main_rows = n
        return bm25


def _lengths_match(tf: np.ndarray, indptr: np.ndarray, lengths: np.ndarray) -> bool:
    """Each document's length equals the sum of its term frequencies (empty documents too)."""
    rows = np.repeat(np.arange(len(lengths)), np.diff(indptr))
    return bool(np.array_equal(np.bincount(rows, weights=tf, minlength=len(lengths)), lengths))


def _json_bytes(values: list[str]) -> np.ndarray:
    return np.frombuffer(json.dumps(values, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _from_json_bytes(array: np.ndarray) -> list[str]:
    values = json.loads(np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8"))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("expected a JSON list of strings")
    return values


class HybridIndex:
    """Keyword + vector index over library items, persisted under one directory."""

    def __init__(self, directory: Path, dim: int, model_name: str) -> None:
        """Open the index in directory (empty if it holds no files); IndexCorruptError if unusable."""
        if dim < 1 or not model_name:
            raise ValueError("HybridIndex needs a positive dim and a non-empty model_name")
        self.directory, self.dim, self.model_name = Path(directory), dim, model_name
        self._lock = threading.RLock()
        self._bm25 = _Bm25()
        self._vectors = self._new_vector_index()
        self._centres: dict[str, np.ndarray] = {}
        self._generation = 0
        self._load()

    @classmethod
    def open_or_reset(
        cls, directory: Path, dim: int, model_name: str
    ) -> tuple[HybridIndex, str | None]:
        """Open the index, or discard unusable files and return an empty one with the reason."""
        try:
            return cls(directory, dim, model_name), None
        except IndexCorruptError as exc:
            for name in (MANIFEST_FILE, VECTORS_FILE, KEYWORDS_FILE, *LEGACY_FILES):
                (Path(directory) / name).unlink(missing_ok=True)
            return cls(directory, dim, model_name), str(exc)

    @property
    def count(self) -> int:
        """Number of documents in the index."""
        with self._lock:
            return len(self._bm25.docs)

    def __contains__(self, doc_id: int) -> bool:
        with self._lock:
            return doc_id in self._bm25.docs

    def ids(self) -> set[int]:
        """The ids of every document in the index."""
        with self._lock:
            return set(self._bm25.docs)

    def optimize(self) -> None:
        """Build pending keyword postings now rather than on the next search (after bulk adds)."""
        with self._lock:
            self._bm25.optimize()

    def add(self, docs: Sequence[IndexDoc]) -> None:
        """Add or replace documents (an existing id is replaced, never duplicated)."""
        if not docs:
            return
        ids = np.array([d.id for d in docs], dtype=np.int64)
        if len(np.unique(ids)) != len(ids) or ids.min() < 0:
            raise SearchInputError(
                "IndexDoc ids must be unique non-negative integers within one add()"
            )
        vectors = self._check_vectors(np.stack([np.asarray(d.vector) for d in docs]))
        tokens = [tokenize(d.text) for d in docs]  # outside the lock: jieba is the slow part
        with self._lock:
            _fill(self._bm25, self._vectors, self._centres, docs, tokens, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        """Remove documents by id; unknown ids are ignored."""
        keys = np.array(sorted(set(ids)), dtype=np.uint64)
        with self._lock:
            self._vectors.remove(keys)
            for doc_id in keys.tolist():
                self._bm25.remove(doc_id)

    def rebuild(self, docs: Sequence[IndexDoc]) -> None:
        """Replace the whole content with docs (call save() to persist)."""
        if len({d.id for d in docs}) != len(docs):
            raise SearchInputError("IndexDoc ids passed to rebuild() must be unique")
        bm25, vectors, centres = _Bm25(), self._new_vector_index(), {}
        if docs:  # built aside, then swapped in: searches keep working meanwhile
            unit = self._check_vectors(np.stack([np.asarray(d.vector) for d in docs]))
            _fill(bm25, vectors, centres, docs, [tokenize(d.text) for d in docs], unit)
        bm25.optimize()
        with self._lock:
            self._bm25, self._vectors, self._centres = bm25, vectors, centres

    @property
    def centres(self) -> dict[str, np.ndarray]:
        """Each centred language's mean vector (a copy)."""
        with self._lock:
            return {lang: c.copy() for lang, c in self._centres.items()}

    def centred(self, vectors: np.ndarray, langs: Sequence[str]) -> np.ndarray:
        """Vectors as this index compares them: unit, minus their language's centre (benchmarks)."""
        with self._lock:
            return centring.centre(self._check_vectors(vectors), langs, self._centres)

    def search(
        self,
        query_text: str,
        query_vector: np.ndarray | None,
        *,
        k: int,
        allowed_ids: set[int] | None = None,
        query_lang: str | None = None,
    ) -> list[Hit]:
        """Return the top k documents by RRF of BM25 and cosine rankings, within allowed_ids.

        query_lang: the query's language, whose centre is taken off the query vector as off the
        documents' (None: the vector is used as it is).
        """
        if not query_text or not query_text.strip():
            raise SearchInputError("search query is empty: pass at least one word to search for")
        if k < 1:
            raise SearchInputError(f"k must be at least 1, got {k}")
        query = None if query_vector is None else self._check_vectors(query_vector[None, :])[0]
        depth = max(k, CANDIDATE_DEPTH)
        query_tokens = tokenize(query_text)
        with self._lock:
            if query is not None and query_lang is not None:
                query = centring.centre(query[None, :], [query_lang], self._centres)[0]
            # Optimise first: a compaction renumbers rows, and the rows below must stay valid.
            self._bm25.optimize()
            rows = None if allowed_ids is None else self._bm25.rows_of(allowed_ids)
            pending = None if query is None else _side().submit(
                self._vector_ranking, query, depth, allowed_ids, rows
            )  # fmt: skip
            keyword = self._bm25.top(query_tokens, depth, allowed_rows=rows)
            vector = [] if pending is None else pending.result()
            fused = rrf_fuse([[i for i, _ in keyword], [i for i, _ in vector]])[:k]
            return self._hits(fused, (keyword, vector), query_tokens, query)

    def _vector_ranking(
        self,
        query: np.ndarray,
        depth: int,
        allowed_ids: set[int] | None = None,
        rows: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Top ids by cosine: HNSW, over-fetched under a filter, exact when that falls short."""
        n = len(self._vectors)
        if n == 0:
            return []
        if allowed_ids is None:
            if n > EXACT_ALL_MAX:
                return _matches(self._vectors.search(query, min(depth, n)))
            allowed_ids = set(self._bm25.docs)
        rows = self._bm25.rows_of(allowed_ids) if rows is None else rows
        want = min(depth, len(rows))
        if want == 0:
            return []
        if len(rows) > EXACT_FILTER_MAX and len(rows) * EXACT_FILTER_RATIO > n:
            fetch = min(n, 2 * depth * math.ceil(n / len(rows)))
            found = [m for m in _matches(self._vectors.search(query, fetch)) if m[0] in allowed_ids]
            if len(found) >= want:
                return found[:want]
        # Every allowed row scored from the bfloat16 copy; the best 2·want + 16 rescored exactly
        # (its cosines err by ~1e-3: far less than that margin of places at the cut).
        ids, approx = self._bm25.row_ids(rows), self._bm25.row_dots(rows, query)
        keys = np.array([i for i, _ in _top(ids, approx, 2 * want + 16)], dtype=np.int64)
        return _top(keys, self._cosines(keys, query), want)

    def _cosines(self, keys: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Exact cosine of query with the stored vectors of keys (stored vectors are unit)."""
        if len(keys) == 0:
            return np.zeros(0, dtype=np.float32)
        stored = np.stack(self._vectors.get(keys.astype(np.uint64), dtype=np.float32))
        return stored @ query

    def _hits(
        self,
        fused: list[tuple[int, float]],
        rankings: tuple[list[tuple[int, float]], list[tuple[int, float]]],
        query_tokens: list[str],
        query: np.ndarray | None,
    ) -> list[Hit]:
        """Attach each fused id's ranks and raw scores, so the UI can explain the order."""
        kw_rank, vec_rank = ({i: r for r, (i, _) in enumerate(rk, start=1)} for rk in rankings)
        ids = np.array([doc_id for doc_id, _ in fused], dtype=np.int64)
        cosines = [None] * len(ids) if query is None else self._cosines(ids, query).tolist()
        bm25 = self._bm25.score_of(query_tokens, ids.tolist())  # also beyond the keyword depth
        return [
            Hit(doc_id, score, kw_rank.get(doc_id), vec_rank.get(doc_id), kw, cos)
            for (doc_id, score), kw, cos in zip(fused, bm25, cosines, strict=True)
        ]  # fmt: skip

    def _check_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Validate shape and finiteness; return float32 unit rows."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise SearchInputError(
                f"vectors must have {self.dim} dimensions, got shape {vectors.shape}"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.isfinite(vectors).all() or (norms == 0).any():
            raise SearchInputError("vectors must be finite and non-zero")
        return vectors / norms

    def _new_vector_index(self) -> Index:
        return _usearch()(
            ndim=self.dim, metric="cos", dtype="f32", connectivity=HNSW_CONNECTIVITY,
            expansion_add=HNSW_EXPANSION_ADD, expansion_search=HNSW_EXPANSION_SEARCH,
        )  # fmt: skip

    # ---- persistence -------------------------------------------------------------------

    def save(self) -> None:
        """Write vectors, keyword corpus and manifest atomically (temp file, fsync, rename)."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            vectors_tmp = self._tmp(VECTORS_FILE)
            self._vectors.save(str(vectors_tmp))
            _fsync(vectors_tmp)
            keywords_tmp = self._tmp(KEYWORDS_FILE)
            langs, centres = centring.to_arrays(self._centres, self.dim)
            with keywords_tmp.open("wb") as out:  # a file object: savez would append ".npz"
                np.savez(out, **self._bm25.to_arrays(), centre_langs=_json_bytes(langs),
                         centres=centres)  # fmt: skip
            _fsync(keywords_tmp)
            self._generation += 1
            manifest = {
                "format": FORMAT_VERSION, "model_name": self.model_name, "dim": self.dim,
                "metric": "cos", "count": len(self._bm25.docs), "generation": self._generation,
                "sha256": {VECTORS_FILE: _sha256(vectors_tmp), KEYWORDS_FILE: _sha256(keywords_tmp)},
            }  # fmt: skip
            os.replace(vectors_tmp, self.directory / VECTORS_FILE)
            os.replace(keywords_tmp, self.directory / KEYWORDS_FILE)
            manifest_tmp = self._tmp(MANIFEST_FILE)
            manifest_tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _fsync(manifest_tmp)
            os.replace(manifest_tmp, self.directory / MANIFEST_FILE)
            for name in LEGACY_FILES:  # a format-1 leftover, now superseded
                (self.directory / name).unlink(missing_ok=True)

    def reload_if_changed(self) -> bool:
        """Reopen from disk when another process saved a newer generation; True if reloaded."""
        with self._lock:
            try:
                manifest = json.loads((self.directory / MANIFEST_FILE).read_text("utf-8"))
            except (OSError, ValueError):
                return False
            if manifest.get("generation") == self._generation:
                return False
            self._load()
            return True

    def _tmp(self, name: str) -> Path:
        return self.directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"

    def _load(self) -> None:
        """Load files if present; raise IndexCorruptError on anything inconsistent."""
        paths = {
            name: self.directory / name for name in (MANIFEST_FILE, VECTORS_FILE, KEYWORDS_FILE)
        }
        if not any(p.exists() for p in (*paths.values(), *self._legacy_paths())):
            return
        manifest = self._read_manifest(paths[MANIFEST_FILE])
        for name in (VECTORS_FILE, KEYWORDS_FILE):
            if not paths[name].exists() or _sha256(paths[name]) != manifest["sha256"].get(name):
                raise IndexCorruptError(f"{name} in {self.directory} is missing or damaged")
        try:
            with np.load(paths[KEYWORDS_FILE], allow_pickle=False) as arrays:
                bm25 = _Bm25.from_arrays(arrays)
                centres = centring.from_arrays(
                    _from_json_bytes(arrays["centre_langs"]), arrays["centres"], self.dim
                )
            vectors = _usearch().restore(str(paths[VECTORS_FILE]))
        except (
            ValueError, KeyError, TypeError, RuntimeError, OSError, EOFError, zipfile.BadZipFile
        ) as exc:  # fmt: skip
            raise IndexCorruptError(f"cannot read index files in {self.directory}: {exc}") from exc
        if (
            vectors is None
            or vectors.ndim != self.dim
            or not (len(vectors) == len(bm25.docs) == manifest["count"])
        ):
            raise IndexCorruptError(f"index files in {self.directory} disagree on their content")
        vectors.expansion_search = HNSW_EXPANSION_SEARCH
        try:  # the bfloat16 copy is not saved: it is taken from the vectors file, in slices
            # (usearch returns one array per key: all of them at once doubled peak memory at 1M)
            ids = bm25.row_ids(np.arange(len(bm25.docs)))
            for start in range(0, len(ids), 65536):
                part = ids[start : start + 65536]
                stored = vectors.get(part.astype(np.uint64), dtype=np.float32)
                bm25.set_vectors(part.tolist(), np.stack(stored))
        except (TypeError, ValueError) as exc:  # a key of the keyword file has no vector
            raise IndexCorruptError(f"index files in {self.directory} disagree on their ids") from exc
        self._bm25, self._vectors, self._generation = bm25, vectors, manifest["generation"]
        self._centres = centres

    def _legacy_paths(self) -> list[Path]:
        return [self.directory / name for name in LEGACY_FILES]

    def _read_manifest(self, path: Path) -> dict:  # type: ignore[type-arg]
        """Parse and check the manifest against this index's model and dimension."""
        try:
            manifest = json.loads(path.read_text("utf-8"))
            fmt, model, dim = manifest["format"], manifest["model_name"], manifest["dim"]
            if not isinstance(manifest["sha256"], dict) or not isinstance(manifest["count"], int):
                raise TypeError("sha256 must be an object and count an integer")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorruptError(f"index manifest {path} is missing or unreadable") from exc
        if fmt != FORMAT_VERSION:
            raise IndexCorruptError(f"index format {fmt} in {path}, expected {FORMAT_VERSION}")
        if model != self.model_name or dim != self.dim:
            raise IndexMismatchError(
                f"index in {self.directory} was built with {model} ({dim} dims), "
                f"not {self.model_name} ({self.dim} dims)"
            )
        return manifest


def _fill(
    bm25: _Bm25,
    vectors: Index,
    centres: dict[str, np.ndarray],
    docs: Sequence[IndexDoc],
    tokens: list[list[str]],
    unit: np.ndarray,
) -> None:
    """Upsert docs into both halves; an existing id is removed first, so never duplicated."""
    keys = np.array([d.id for d in docs], dtype=np.uint64)
    langs = [d.lang for d in docs]
    vectors.remove(keys)
    for doc_id in keys.tolist():
        bm25.remove(doc_id)
    _new_centres(bm25, vectors, centres, langs, unit)
    centred = centring.centre(unit, langs, centres)
    vectors.add(keys, centred)
    bm25.add_many([d.id for d in docs], langs, tokens, centred)


def _new_centres(
    bm25: _Bm25, vectors: Index, centres: dict[str, np.ndarray], langs: list[str], unit: np.ndarray
) -> None:
    """Give a language its centre once it reaches CENTRE_MIN_DOCS, re-adding its stored vectors."""
    for lang in sorted(set(langs) - centres.keys()):
        existing = bm25.ids_of_language(lang).astype(np.uint64)
        batch = unit[[i for i, x in enumerate(langs) if x == lang]]
        if len(existing) + len(batch) < centring.CENTRE_MIN_DOCS:
            continue
        stored = (  # as given: without a centre, this language's vectors were stored unchanged
            np.stack(vectors.get(existing, dtype=np.float32)) if len(existing) else batch[:0]
        )
        centres[lang] = np.concatenate([stored, batch]).mean(axis=0)
        if len(existing):
            centred = centring.centre(stored, [lang] * len(existing), centres)
            vectors.remove(existing)
            vectors.add(existing, centred)
            bm25.set_vectors(existing.tolist(), centred)


def _to_bfloat16(vectors: np.ndarray) -> np.ndarray:
    """The upper 16 bits of each float32, rounded to nearest even (bfloat16), as uint16."""
    bits = np.ascontiguousarray(vectors, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _top(ids: np.ndarray, scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Return the n highest-scoring (id, score) pairs, best first, ties by id."""
    if len(ids) > n:
        nth = scores[np.argpartition(-scores, n - 1)[n - 1]]
        keep = np.flatnonzero(scores >= nth)  # every tie at the cut, so ids decide among them
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))[:n]
    return [(int(ids[i]), float(scores[i])) for i in order]


def _matches(matches: object) -> list[tuple[int, float]]:
    """Convert usearch Matches (cosine distances) to (id, cosine) pairs."""
    keys, distances = matches.keys, matches.distances  # type: ignore[attr-defined]
    return [(int(key), 1.0 - float(dist)) for key, dist in zip(keys, distances, strict=True)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
