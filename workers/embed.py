"""Stage 3: one sentence embedding per utterance, stored with the model's name and dimension."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.calls.models import Call, CallStatus
from app.transcripts import service as transcripts_service
from workers.stage import Outcome, run_stage


def embed_call(call_id: int) -> bool:
    return run_stage(call_id, stage=CallStatus.embedding, accepts={CallStatus.embedding}, work=_embed)


def _embed(session: Session, call: Call) -> Outcome:
    from models.embedder import embed_reusing, get_embedder, match_embedder_name

    rows = transcripts_service.rows(session=session, call_id=call.id)
    if rows:
        embedder = get_embedder()
        texts = [r.text for r in rows]
        # "query" on both sides: utterance ↔ SOP example and utterance ↔ search query are
        # symmetric similarity tasks (e5's convention); see models/embedder.py.
        vectors = embedder.embed(texts, kind="query")
        # SOP matching may use another embedder for this language (English: e5 + mpnet).
        matcher = get_embedder(match_embedder_name(call.language))
        match = None
        if matcher.name != embedder.name:
            match = (embed_reusing(matcher, texts, kind="query", known={embedder.name: vectors}), matcher.name)
        transcripts_service.store_embeddings(
            session=session, call_id=call.id, utterance_ids=[r.id for r in rows], vectors=vectors,
            model=embedder.name, match=match,
        )
        call.embedding_model = embedder.name
    return Outcome(CallStatus.matching, "sop.match")
