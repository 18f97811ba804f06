"""Match a stored call against a stored SOP version and keep the result (pipeline + re-match)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app import ml
from app.calls.models import Call
from app.db import utcnow
from app.sop.compare import compare_path
from app.sop.matcher import SopIndex, build_sop_index, match_call
from app.sop.models import CallSopResult, SopVersion
from app.sop.report import build_report
from app.sop.schema import SopDefinition
from app.transcripts import service as transcripts_service

log = logging.getLogger(__name__)

_indexes: dict[tuple[str, int, str], SopIndex] = {}
_lock = threading.Lock()


def sop_index(sop: SopDefinition, version: int, embedder: Any) -> SopIndex:
    """The embedded examples of one SOP version, built once per process and embedder."""
    key = (sop.id, version, embedder.name)
    with _lock:
        if key not in _indexes:
            _indexes[key] = build_sop_index(sop, embedder)
        return _indexes[key]


def _call_vectors(session: Session, call: Call, texts: list[str], embedder: Any) -> np.ndarray:
    """Stored utterance vectors when they come from the same model; otherwise embed again."""
    _ids, vectors, model = transcripts_service.embeddings(session=session, call_id=call.id)
    if model == embedder.name and len(vectors) == len(texts):
        return vectors
    return (
        embedder.embed(texts, kind="passage") if texts else np.zeros((0, embedder.dim), np.float32)
    )


def match_and_store(*, session: Session, call: Call, sop_row: SopVersion) -> CallSopResult:
    """Run the matcher and the comparison; replace the call's previous result in one step."""
    sop = SopDefinition.model_validate(sop_row.definition)
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    embedder = ml.get_embedder()
    vectors = _call_vectors(session, call, [u.text for u in utterances], embedder)
    index = sop_index(sop, sop_row.version, embedder)
    match = match_call(utterances, index, utterance_vectors=vectors)
    comparison = compare_path(match, sop, utterances)
    notes = []
    if call.language and call.language != sop.language:
        notes.append(
            f"The call is in {call.language} but the SOP's examples are in {sop.language}: "
            "cross-language similarity is weaker; a SOP written in the call's language matches better."
        )
    if utterances and not any(u.role == "rep" for u in utterances):
        notes.append("No utterance is attributed to the rep: rep-side steps cannot be matched; check the "
                     "speaker attribution (stereo channel, voiceprint) and reprocess.")
    payload = build_report(sop=sop, version=sop_row.version, utterances=utterances, match=match,
                           comparison=comparison, notes=notes)
    # The raw matcher and comparison output stay alongside for tools that want every field.
    payload |= {"match": match.to_dict(), "comparison": comparison.to_dict()}
    session.execute(delete(CallSopResult).where(CallSopResult.call_id == call.id))
    result = CallSopResult(
        call_id=call.id,
        sop_id=sop_row.sop_id,
        sop_version=sop_row.version,
        adherence=float(comparison.adherence.score),
        embedding_model=embedder.name,
        result=payload,
        matched_at=utcnow(),
    )
    session.add(result)
    session.flush()
    log.info(
        "sop.matched call_id=%s sop=%s v%s adherence=%.3f",
        call.id,
        sop_row.sop_id,
        sop_row.version,
        comparison.adherence.score,
    )
    return result
