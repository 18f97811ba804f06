"""The library's search index: one HybridIndex over snippets, clips and talk-track variants.

- Where: <var_dir>/index, one per process, reopened when another process saved a newer
  generation; writers serialise on an advisory file lock and reload before writing.
- Ids: index id = row id × 4 + kind (1 snippet, 2 clip, 3 talk-track variant).
- Missing or corrupt files (or another embedding model): rebuilt from the database with a
  warning in the log and in the search response, never an error.
- Deletions: deleting a call cascades to its snippets and clips in the database; a session
  hook removes their index entries after the commit and queues `library.update` (talk
  tracks). Search results are also re-read from the database, so an entry that outlived its
  row is never shown and is dropped from the index on sight.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import ml
from app.calls.models import Call
from app.config import get_settings
from app.library.index import HybridIndex, IndexDoc
from app.library.models import Clip, Snippet, TalkTrack, TalkTrackVariant

log = logging.getLogger(__name__)

SNIPPET, CLIP, VARIANT = 1, 2, 3
KIND_NAMES = {SNIPPET: "snippet", CLIP: "clip", VARIANT: "talk_track"}
KIND_OF_NAME = {v: k for k, v in KIND_NAMES.items()}
_MODELS = {SNIPPET: Snippet, CLIP: Clip, VARIANT: TalkTrackVariant}

_lock = threading.Lock()
_indexes: dict[tuple[str, str], HybridIndex] = {}


def encode(kind: int, row_id: int) -> int:
    return row_id * 4 + kind


def decode(doc_id: int) -> tuple[int, int]:
    return doc_id % 4, doc_id // 4


def index_dir() -> Path:
    return get_settings().var_dir / "index"


@dataclass
class IndexState:
    index: HybridIndex
    warning: str | None = None
    rebuilt: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@contextmanager
def _write_lock() -> Iterator[None]:
    """One writer across processes; readers never wait for it."""
    directory = index_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def get_index(*, session: Session) -> IndexState:
    """The open index; rebuilt from the database when its files are missing or unusable."""
    embedder = ml.get_embedder()
    directory = index_dir()
    key = (str(directory.resolve()), embedder.name)
    with _lock:
        index = _indexes.get(key)
        warning: str | None = None
        if index is None:
            index, reason = HybridIndex.open_or_reset(directory, embedder.dim, embedder.name)
            _indexes[key] = index
            warning = f"search index was unusable ({reason}); rebuilt from the database" if reason else None
        missing = not (directory / "manifest.json").exists() and _has_rows(session)
        if warning is None and missing and _built_marker().exists():
            warning = f"search index files were missing in {directory}; rebuilt from the database"
        if warning is None and not missing:
            index.reload_if_changed()
            return IndexState(index)
    if warning:
        log.warning("library.index_rebuild reason=%s", warning)
    with _write_lock():
        rebuild(session=session, index=index)
    return IndexState(index, warning, rebuilt=True)


def _built_marker() -> Path:
    """Exists once an index was saved here: missing files after that are a loss, not a first start."""
    return get_settings().var_dir / ".library-index-built"


def _has_rows(session: Session) -> bool:
    return any(session.scalar(select(model.id).limit(1)) is not None for model in _MODELS.values())


def reset_cache() -> None:
    """Forget open indexes (tests; a process that wants to reopen from disk)."""
    with _lock:
        _indexes.clear()


def documents(*, session: Session, kind: int, ids: Iterable[int] | None = None) -> list[IndexDoc]:
    """Index documents for rows of one kind (all rows, or the given row ids)."""
    model = _MODELS[kind]
    query = select(model)
    if ids is not None:
        query = query.where(model.id.in_(list(ids)))
    rows = list(session.scalars(query))
    if not rows:
        return []
    labels = _track_labels(session, rows) if kind == VARIANT else {}
    texts = [doc_text(kind, row, labels) for row in rows]
    embedder = ml.get_embedder()
    stale = [i for i, row in enumerate(rows) if row.vector_model != embedder.name]
    vectors = [np.frombuffer(row.vector, dtype=np.float32) for row in rows]
    if stale:  # stored under another model: embed again so every vector lives in one space
        fresh = embedder.embed([texts[i] for i in stale], kind="passage")
        for i, vec in zip(stale, fresh, strict=True):
            vectors[i] = np.asarray(vec, dtype=np.float32)
    return [IndexDoc(encode(kind, row.id), text, _lang(kind, row), vec)
            for row, text, vec in zip(rows, texts, vectors, strict=True)]


def _track_labels(session: Session, rows: list[Any]) -> dict[int, str]:
    ids = {row.talk_track_id for row in rows}
    return {t.id: t.label for t in session.scalars(select(TalkTrack).where(TalkTrack.id.in_(ids)))}


def doc_text(kind: int, row: Any, labels: dict[int, str] | None = None) -> str:
    """The searchable text of a row (keyword side)."""
    if kind == SNIPPET:
        return f"{row.step_name}\n{row.customer_before}\n{row.rep_text}\n{row.customer_text}"
    if kind == CLIP:
        return f"{row.title}\n{row.note}\n{' '.join(row.tags or [])}\n{row.text}"
    return f"{(labels or {}).get(row.talk_track_id, '')}\n{row.text}"


def _lang(kind: int, row: Any) -> str:
    if kind == VARIANT:
        langs = row.meta.get("languages") or ["en"]
        return str(langs[0])
    return str(row.language or "en")


def rebuild(*, session: Session, index: HybridIndex) -> int:
    """Replace the index content with every library row, and save it."""
    docs = [doc for kind in _MODELS for doc in documents(session=session, kind=kind)]
    index.rebuild(docs)
    index.save()
    _built_marker().touch()
    log.info("library.index_rebuilt documents=%s", len(docs))
    return len(docs)


def sync(*, session: Session) -> dict[str, int]:
    """Make the index hold exactly the library rows: add what is missing, drop what is gone."""
    state = get_index(session=session)
    if state.rebuilt:
        return {"added": state.index.count, "removed": 0}
    with _write_lock():
        state.index.reload_if_changed()
        wanted = {encode(kind, row_id) for kind, model in _MODELS.items()
                  for row_id in session.scalars(select(model.id))}
        present = state.index.ids()
        missing, gone = wanted - present, present - wanted
        by_kind: dict[int, list[int]] = {}
        for doc_id in missing:
            kind, row_id = decode(doc_id)
            by_kind.setdefault(kind, []).append(row_id)
        state.index.remove(gone)
        state.index.add([d for kind, ids in by_kind.items() for d in documents(session=session, kind=kind, ids=ids)])
        if missing or gone:
            state.index.save()
            _built_marker().touch()
    return {"added": len(missing), "removed": len(gone)}


def apply_changes(*, upserts: set[int], removals: set[int]) -> None:
    """Upsert and remove index entries by doc id (after a commit), then save."""
    from app.db import get_sessionmaker

    with get_sessionmaker()() as session:
        state = get_index(session=session)
        if state.rebuilt:
            return
        with _write_lock():
            state.index.reload_if_changed()
            state.index.remove(removals - upserts)
            by_kind: dict[int, list[int]] = {}
            for doc_id in upserts:
                kind, row_id = decode(doc_id)
                by_kind.setdefault(kind, []).append(row_id)
            docs = [d for kind, ids in by_kind.items() for d in documents(session=session, kind=kind, ids=ids)]
            state.index.remove({d for d in upserts if d not in {doc.id for doc in docs}})
            state.index.add(docs)
            state.index.save()


def mark_upsert(session: Session, kind: int, row_id: int) -> None:
    """Queue an index upsert for after the session commits."""
    session.info.setdefault("library_upserts", set()).add(encode(kind, row_id))


def mark_removal(session: Session, kind: int, row_id: int) -> None:
    session.info.setdefault("library_removals", set()).add(encode(kind, row_id))


@event.listens_for(Session, "before_flush")
def _collect_deletions(session: Session, _context: Any, _instances: Any) -> None:
    calls = [obj.id for obj in session.deleted if isinstance(obj, Call) and obj.id is not None]
    for obj in session.deleted:
        if isinstance(obj, Clip) and obj.id is not None:
            mark_removal(session, CLIP, obj.id)
    if not calls:
        return
    with session.no_autoflush:
        for row_id in session.scalars(select(Snippet.id).where(Snippet.call_id.in_(calls))):
            mark_removal(session, SNIPPET, row_id)
        for row_id in session.scalars(select(Clip.id).where(Clip.call_id.in_(calls))):
            mark_removal(session, CLIP, row_id)
    session.info["library_refresh"] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the rows are not committed until the outer transaction is
    upserts = session.info.pop("library_upserts", set())
    removals = session.info.pop("library_removals", set())
    refresh = session.info.pop("library_refresh", False)
    if upserts or removals:
        try:
            apply_changes(upserts=upserts, removals=removals)
        except Exception as exc:  # noqa: BLE001 - the index heals on the next sync; never fail the request
            log.warning("library.index_update_failed error=%s", exc)
    if refresh:
        _queue_refresh()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if session.in_nested_transaction():
        return  # only a SAVEPOINT rolled back: the outer transaction's changes still stand
    for key in ("library_upserts", "library_removals", "library_refresh"):
        session.info.pop(key, None)


def _queue_refresh() -> None:
    from app import jobs
    from app.db import session_scope

    try:
        with session_scope() as session:
            jobs.enqueue(session, "library.update")
    except Exception as exc:  # noqa: BLE001 - the refresh is requested again by the next change
        log.warning("library.refresh_enqueue_failed error=%s", exc)
