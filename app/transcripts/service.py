"""Store and read a call's utterances and their embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.transcripts.formats import Utterance, Word
from app.transcripts.models import UtteranceEmbedding, UtteranceRow


def replace_utterances(*, session: Session, call_id: int, utterances: Sequence[Utterance]) -> list[UtteranceRow]:
    """Write a call's utterances, replacing earlier ones (stages are re-runnable)."""
    session.execute(delete(UtteranceRow).where(UtteranceRow.call_id == call_id))
    rows = [
        UtteranceRow(
            call_id=call_id,
            idx=i,
            speaker=u.speaker[:64],
            role=u.role,
            start=float(u.start),
            end=float(u.end),
            text=u.text,
            words=[[w.start, w.end, w.text, w.probability] for w in u.words],
        )
        for i, u in enumerate(utterances)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def rows(*, session: Session, call_id: int) -> list[UtteranceRow]:
    return list(
        session.scalars(select(UtteranceRow).where(UtteranceRow.call_id == call_id).order_by(UtteranceRow.idx))
    )


def to_utterance(row: UtteranceRow) -> Utterance:
    words = tuple(Word(start=w[0], end=w[1], text=w[2], probability=w[3]) for w in row.words or ())
    return Utterance(
        index=row.idx, speaker=row.speaker, role=row.role, start=row.start, end=row.end, text=row.text, words=words
    )


def utterances(*, session: Session, call_id: int) -> list[Utterance]:
    """A call's utterances in order, read as plain columns (no ORM rows: this is the transcript read path)."""
    u = UtteranceRow
    result = session.execute(select(u.idx, u.speaker, u.role, u.start, u.end, u.text, u.words)
                             .where(u.call_id == call_id).order_by(u.idx))
    return [
        Utterance(index=idx, speaker=speaker, role=role, start=start, end=end, text=text,
                  words=tuple(Word(start=w[0], end=w[1], text=w[2], probability=w[3]) for w in words or ()))
        for idx, speaker, role, start, end, text, words in result
    ]


def utterance_dicts(*, session: Session, call_id: int) -> list[dict[str, Any]]:
    """A call's utterances as the transcript API shows them (index, speaker, role, start, end, text,
    words), as plain dicts straight from the columns: the JSON transcript read path."""
    u = UtteranceRow
    result = session.execute(select(u.idx, u.speaker, u.role, u.start, u.end, u.text, u.words)
                             .where(u.call_id == call_id).order_by(u.idx))
    return [
        {"index": idx, "speaker": speaker, "role": role, "start": float(start), "end": float(end), "text": text,
         "words": [{"start": float(w[0]), "end": float(w[1]), "text": str(w[2]),
                    "probability": None if w[3] is None else float(w[3])} for w in words or ()]}
        for idx, speaker, role, start, end, text, words in result
    ]


def store_embeddings(
    *,
    session: Session,
    call_id: int,
    utterance_ids: Sequence[int],
    vectors: np.ndarray,
    model: str,
    match: tuple[np.ndarray, str] | None = None,
) -> None:
    """Replace the call's utterance vectors; ``match`` = SOP matching's own (vectors, model) if any."""
    session.execute(delete(UtteranceEmbedding).where(UtteranceEmbedding.call_id == call_id))
    vectors = np.asarray(vectors, dtype=np.float32)
    match_rows = [None] * len(vectors) if match is None else list(np.asarray(match[0], dtype=np.float32))
    session.add_all(
        UtteranceEmbedding(
            utterance_id=uid, call_id=call_id, model=model, dim=int(vectors.shape[1]), vector=vec.tobytes(),
            match_model=None if m is None else match[1], match_vector=None if m is None else m.tobytes(),
        )
        for uid, vec, m in zip(utterance_ids, vectors, match_rows, strict=True)
    )
    session.flush()


def _embedding_rows(session: Session, call_id: int) -> list[UtteranceEmbedding]:
    """The call's embedding rows in utterance order."""
    return list(session.execute(
        select(UtteranceEmbedding).join(UtteranceRow, UtteranceRow.id == UtteranceEmbedding.utterance_id)
        .where(UtteranceEmbedding.call_id == call_id).order_by(UtteranceRow.idx)
    ).scalars().all())


def match_vectors(*, session: Session, call_id: int, model: str) -> np.ndarray | None:
    """The call's stored vectors from ``model`` (as search or as matching vectors), in utterance
    order; None when some utterance has none from that model."""
    rows = _embedding_rows(session, call_id)
    out = []
    for row in rows:
        if row.match_model == model and row.match_vector is not None:
            out.append(np.frombuffer(row.match_vector, dtype=np.float32))
        elif row.model == model:
            out.append(np.frombuffer(row.vector, dtype=np.float32))
        else:
            return None
    return np.stack(out) if out else None


def keep_match_vectors(*, session: Session, call_id: int, vectors: np.ndarray, model: str) -> None:
    """Store matching vectors computed at match time on the call's embedding rows (next time: read)."""
    rows = _embedding_rows(session, call_id)
    if len(rows) != len(vectors):
        return
    for row, vec in zip(rows, np.asarray(vectors, dtype=np.float32), strict=True):
        row.match_model, row.match_vector = model, vec.tobytes()
    session.flush()


def embeddings(*, session: Session, call_id: int) -> tuple[list[int], np.ndarray, str | None]:
    """Utterance ids, their vectors (n, dim) in utterance order, and the model name."""
    result = session.execute(
        select(UtteranceEmbedding, UtteranceRow.idx)
        .join(UtteranceRow, UtteranceRow.id == UtteranceEmbedding.utterance_id)
        .where(UtteranceEmbedding.call_id == call_id)
        .order_by(UtteranceRow.idx)
    ).all()
    if not result:
        return [], np.zeros((0, 0), dtype=np.float32), None
    ids = [e.utterance_id for e, _ in result]
    matrix = np.stack([np.frombuffer(e.vector, dtype=np.float32) for e, _ in result])
    return ids, matrix, result[0][0].model
