"""Match a stored call against a stored SOP version and keep the result (pipeline + re-match)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app import ml
from app.calls.models import Call
from app.sop.matcher import SopIndex, build_sop_index, match_call
from app.sop.models import CallSopResult, SopVersion
from app.sop.review import store_result
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
    notes = []
    if call.language and call.language != sop.language:
        notes.append(
            f"The call is in {call.language} but the SOP's examples are in {sop.language}: "
            "cross-language similarity is weaker; a SOP written in the call's language matches better."
        )
    if utterances and not any(u.role == "rep" for u in utterances):
        notes.append("No utterance is attributed to the rep: rep-side steps cannot be matched; check the "
                     "speaker attribution (stereo channel, voiceprint) and reprocess.")
    # A person's corrections of this call (app/sop/review.py) apply to every new match of it.
    result = store_result(session=session, call=call, sop_row=sop_row, utterances=utterances, match=match,
                          notes=notes, embedding_model=embedder.name)
    log.info(
        "sop.matched call_id=%s sop=%s v%s adherence=%.3f",
        call.id,
        sop_row.sop_id,
        sop_row.version,
        result.adherence,
    )
    return result
