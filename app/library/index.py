"""Hybrid keyword + vector search index for the clip / snippet / talk-track library.

Two rankings are fused with reciprocal-rank fusion (Cormack et al., 2009):
``score(d) = sum over rankings r of 1 / (RRF_K + rank_r(d))``, ranks starting at 1, RRF_K = 60,
each ranking cut at ``max(k, CANDIDATE_DEPTH)``. RRF needs no score calibration between BM25
(unbounded) and cosine (-1..1), and the constant 60 keeps a single top-1 from dominating.

- Keyword: Okapi BM25 (k1 = 1.5, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))) over
  tokens from app.library.text, rebuilt lazily with numpy on the first search after a change.
- Vector: usearch HNSW, cosine metric, persisted in ``vectors.usearch``.
- Filters: ``allowed_ids`` is applied exactly. BM25 scores every document, so it just masks;
  the vector side over-fetches from HNSW and falls back to exact cosine over the allowed set
  when the filter is selective or the over-fetch comes back short.

Files under ``directory``: ``vectors.usearch``, ``keywords.jsonl`` (one ``{"id", "lang",
"tokens"}`` per line) and ``manifest.json`` (format, model, dim, count, generation, sha256 of
both files), each written to a temporary file and renamed; the manifest goes last, so a crash
mid-save leaves a checksum mismatch that opening reports as IndexCorruptError. One lock
serialises every operation: one writer and any number of reader threads per process.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
# why: importing onnxruntime *after* usearch kills the process with a segfault (their bundled
# native libraries clash; seen with usearch 2.26.6 + onnxruntime 1.32.0). Workers need both
# (faster-whisper's VAD runs on onnxruntime), so onnxruntime is loaded first when installed.
try:
    import onnxruntime  # noqa: F401
except ImportError:  # pragma: no cover - onnxruntime comes with faster-whisper
    pass
from usearch.index import Index  # noqa: E402

from app.errors import AppError
from app.library.text import tokenize

RRF_K = 60
CANDIDATE_DEPTH = 100
BM25_K1 = 1.5
BM25_B = 0.75
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.usearch"
KEYWORDS_FILE = "keywords.jsonl"
# A filter leaving at most this many documents, or under 1/EXACT_FILTER_RATIO of the index,
# is scored exactly: cheaper than an HNSW over-fetch deep enough to find k of them.
EXACT_FILTER_MAX = 4096
EXACT_FILTER_RATIO = 20
# HNSW build settings; bench/bench_search.py shows recall@10 >= 0.99 on 384-dim vectors.
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 64
HNSW_EXPANSION_SEARCH = 128


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
    bm25_score (0 when no term matched) and cosine (None without a query vector) explain it."""

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


class _Bm25:
    """BM25 over term-id arrays; the term-by-document table is rebuilt lazily after changes.

    Documents are stored as arrays of term ids (the vocabulary only grows), so a rebuild is a
    few vectorised numpy passes: ~0.1 s at 100k short documents (bench/bench_search.py).
    """

    def __init__(self) -> None:
        self.docs: dict[int, tuple[str, np.ndarray]] = {}
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._dirty = True

    def add(self, doc_id: int, lang: str, tokens: list[str]) -> None:
        codes = np.fromiter((self._code(t) for t in tokens), np.int64, len(tokens))
        self.docs[doc_id] = (lang, codes)
        self._dirty = True

    def tokens(self, doc_id: int) -> list[str]:
        return [self._terms[code] for code in self.docs[doc_id][1].tolist()]

    def _code(self, token: str) -> int:
        code = self._vocab.get(token)
        if code is None:
            code = self._vocab[token] = len(self._terms)
            self._terms.append(token)
        return code

    def remove(self, doc_id: int) -> None:
        if self.docs.pop(doc_id, None) is not None:
            self._dirty = True

    def _build(self) -> None:
        """Build a CSC-like table: rows sorted by (term, row) with their term frequencies."""
        self._row_ids = np.fromiter(self.docs.keys(), dtype=np.int64, count=len(self.docs))
        self.row_of = {doc_id: row for row, doc_id in enumerate(self.docs)}
        coded = [codes for _, codes in self.docs.values()]
        lengths = np.fromiter((len(c) for c in coded), dtype=np.int64, count=len(coded))
        terms = np.concatenate(coded) if coded else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(coded), dtype=np.int64), lengths)
        keys, tf = np.unique(terms * max(len(coded), 1) + rows, return_counts=True)
        self._rows = keys % max(len(coded), 1)
        self._tf = tf.astype(np.float64)
        self._indptr = np.searchsorted(keys // max(len(coded), 1), np.arange(len(self._terms) + 1))
        mean_length = float(lengths.mean()) if len(lengths) else 1.0
        self._norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(mean_length, 1e-9))
        self._dirty = False

    def scores(self, query_tokens: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return (document id of each row, BM25 score of each row) for the query."""
        if self._dirty:
            self._build()
        n = len(self._row_ids)
        total = np.zeros(n, dtype=np.float64)
        for term in set(query_tokens):
            t = self._vocab.get(term)
            if t is None:
                continue
            lo, hi = self._indptr[t], self._indptr[t + 1]
            rows, tf = self._rows[lo:hi], self._tf[lo:hi]
            idf = math.log(1 + (n - (hi - lo) + 0.5) / ((hi - lo) + 0.5))
            total[rows] += idf * tf * (BM25_K1 + 1) / (tf + self._norm[rows])
        return self._row_ids, total


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
            for name in (MANIFEST_FILE, VECTORS_FILE, KEYWORDS_FILE):
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
            _fill(self._bm25, self._vectors, docs, tokens, vectors)

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
        bm25, vectors = _Bm25(), self._new_vector_index()
        if docs:  # built aside, then swapped in: searches keep working meanwhile
            unit = self._check_vectors(np.stack([np.asarray(d.vector) for d in docs]))
            _fill(bm25, vectors, docs, [tokenize(d.text) for d in docs], unit)
        with self._lock:
            self._bm25, self._vectors = bm25, vectors

    def search(
        self,
        query_text: str,
        query_vector: np.ndarray | None,
        *,
        k: int,
        allowed_ids: set[int] | None = None,
    ) -> list[Hit]:
        """Return the top k documents by RRF of BM25 and cosine rankings, within allowed_ids."""
        if not query_text or not query_text.strip():
            raise SearchInputError("search query is empty: pass at least one word to search for")
        if k < 1:
            raise SearchInputError(f"k must be at least 1, got {k}")
        query = None if query_vector is None else self._check_vectors(query_vector[None, :])[0]
        depth = max(k, CANDIDATE_DEPTH)
        query_tokens = tokenize(query_text)
        with self._lock:
            row_ids, bm25 = self._bm25.scores(query_tokens)
            mask = bm25 > 0
            if allowed_ids is not None:
                mask &= np.isin(row_ids, np.fromiter(allowed_ids, np.int64, len(allowed_ids)))
            keyword = _top(row_ids[mask], bm25[mask], depth)
            vector = [] if query is None else self._vector_ranking(query, depth, allowed_ids)
            fused = rrf_fuse([[i for i, _ in keyword], [i for i, _ in vector]])[:k]
            return self._hits(fused, (keyword, vector), bm25, query)

    def _vector_ranking(
        self, query: np.ndarray, depth: int, allowed_ids: set[int] | None
    ) -> list[tuple[int, float]]:
        """Top ids by cosine: HNSW, over-fetched under a filter, exact when that falls short."""
        n = len(self._vectors)
        if n == 0:
            return []
        if allowed_ids is None:
            return _matches(self._vectors.search(query, min(depth, n)))
        allowed = allowed_ids & self._bm25.docs.keys()
        want = min(depth, len(allowed))
        if want == 0:
            return []
        if len(allowed) > EXACT_FILTER_MAX and len(allowed) * EXACT_FILTER_RATIO > n:
            fetch = min(n, 2 * depth * math.ceil(n / len(allowed)))
            found = [m for m in _matches(self._vectors.search(query, fetch)) if m[0] in allowed]
            if len(found) >= want:
                return found[:want]
        keys = np.fromiter(allowed, np.int64, len(allowed))
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
        bm25: np.ndarray,
        query: np.ndarray | None,
    ) -> list[Hit]:
        """Attach each fused id's ranks and raw scores, so the UI can explain the order."""
        kw_rank, vec_rank = ({i: r for r, (i, _) in enumerate(rk, start=1)} for rk in rankings)
        ids = np.array([doc_id for doc_id, _ in fused], dtype=np.int64)
        cosines = [None] * len(ids) if query is None else self._cosines(ids, query).tolist()
        return [
            Hit(doc_id, score, kw_rank.get(doc_id), vec_rank.get(doc_id),
                float(bm25[self._bm25.row_of[doc_id]]), cos)
            for (doc_id, score), cos in zip(fused, cosines, strict=True)
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
        return Index(
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
            with keywords_tmp.open("w", encoding="utf-8") as out:
                for doc_id, (lang, _) in self._bm25.docs.items():
                    row = {"id": doc_id, "lang": lang, "tokens": self._bm25.tokens(doc_id)}
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
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
        if not any(p.exists() for p in paths.values()):
            return
        manifest = self._read_manifest(paths[MANIFEST_FILE])
        for name in (VECTORS_FILE, KEYWORDS_FILE):
            if not paths[name].exists() or _sha256(paths[name]) != manifest["sha256"].get(name):
                raise IndexCorruptError(f"{name} in {self.directory} is missing or damaged")
        bm25 = _Bm25()
        try:
            with paths[KEYWORDS_FILE].open(encoding="utf-8") as lines:
                for line in lines:
                    row = json.loads(line)
                    bm25.add(int(row["id"]), str(row["lang"]), list(row["tokens"]))
            vectors = Index.restore(str(paths[VECTORS_FILE]))
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexCorruptError(f"cannot read index files in {self.directory}: {exc}") from exc
        if (
            vectors is None
            or vectors.ndim != self.dim
            or not (len(vectors) == len(bm25.docs) == manifest["count"])
        ):
            raise IndexCorruptError(f"index files in {self.directory} disagree on their content")
        vectors.expansion_search = HNSW_EXPANSION_SEARCH
        self._bm25, self._vectors, self._generation = bm25, vectors, manifest["generation"]

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
    docs: Sequence[IndexDoc],
    tokens: list[list[str]],
    unit: np.ndarray,
) -> None:
    """Upsert docs into both halves; an existing id is removed first, so never duplicated."""
    keys = np.array([d.id for d in docs], dtype=np.uint64)
    vectors.remove(keys)
    vectors.add(keys, unit)
    for doc, toks in zip(docs, tokens, strict=True):
        bm25.add(doc.id, doc.lang, toks)


def _top(ids: np.ndarray, scores: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Return the n highest-scoring (id, score) pairs, best first, ties by id."""
    if len(ids) > n:
        keep = np.argpartition(-scores, n - 1)[:n]
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores))
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
