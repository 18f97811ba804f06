"""Match a stored call against a stored SOP version and keep the result (pipeline + re-match)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app import ml
from app.calls.models import Call
from app.config import get_settings
from app.db import aware
from app.sop import review
from app.sop.matcher import SopIndex, build_sop_index, match_call
from app.sop.models import CallSopResult, SopVersion
from app.sop.report import match_notes
from app.sop.schema import SopDefinition, SopKind
from app.transcripts import service as transcripts_service

log = logging.getLogger(__name__)

# Per (SOP id, version, content hash, embedder): the reviewed lines the index was built with, and
# the index. The hash: a database rebuilt under a running process (tests, a restored backup) may
# give another definition the same id and version.
_indexes: dict[tuple[str, int, str, str], tuple[dict[str, tuple[str, ...]], SopIndex]] = {}
# Per (SOP id, version): the review signature the reviewed lines were read at, and those lines.
_reviewed: dict[tuple[str, int], tuple[tuple[int, str, str], dict[str, tuple[str, ...]]]] = {}
_lock = threading.Lock()
# Texts a SOP index embeds (examples, names, reviewed lines), by (embedder, kind, text): after a
# review, rebuilding the index embeds only the new lines (bench/match.py: 34 steps × 30 reviewed
# lines, 7.48 s → 0.83 s). At 384 dimensions 20,000 texts are about 30 MB.
_VECTOR_MEMO_SIZE = 20_000
_vectors: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()


class _Memoised:
    """The embedder, remembering the vectors of the texts it embedded for SOP indexes (under _lock)."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder
        self.name = embedder.name

    def embed(self, texts: list[str], kind: str = "query") -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if (self.name, kind, t) not in _vectors]
        if new:
            for text, vector in zip(new, self._embedder.embed(new, kind=kind), strict=True):
                _vectors[(self.name, kind, text)] = np.asarray(vector, dtype=np.float32)
        out = []
        for text in texts:
            _vectors.move_to_end((self.name, kind, text))
            out.append(_vectors[(self.name, kind, text)])
        while len(_vectors) > _VECTOR_MEMO_SIZE:
            _vectors.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, self._embedder.dim), np.float32)


def sop_index(
    sop: SopDefinition, sop_row: SopVersion, embedder: Any, reviewed: dict[str, tuple[str, ...]] | None = None
) -> SopIndex:
    """The embedded examples of one SOP version (`sop` is `sop_row`'s definition) plus the reviewed
    lines, built once per process and embedder, and again when the reviewed lines change."""
    key = (sop.id, sop_row.version, sop_row.content_hash, embedder.name)
    reviewed = reviewed or {}
    with _lock:
        cached = _indexes.get(key)
        if cached is None or cached[0] != reviewed:
            index = build_sop_index(review.with_examples(sop, reviewed), _Memoised(embedder))
            _indexes[key] = (reviewed, index)
        return _indexes[key][1]


def reviewed_lines(session: Session, sop: SopDefinition, version: int) -> dict[str, tuple[str, ...]]:
    """The SOP's reviewed lines (app/sop/review.py), read again only when a review changed or a
    reviewed call was matched again (review.review_signature)."""
    per_step = get_settings().sop_review_examples_per_step
    signature = review.review_signature(session=session, sop_id=sop.id)
    with _lock:
        cached = _reviewed.get((sop.id, version))
    if cached is not None and cached[0] == signature:
        return cached[1]
    lines = review.reviewed_examples(session=session, sop=sop, per_step=per_step)
    with _lock:
        _reviewed[(sop.id, version)] = (signature, lines)
    return lines


def _call_vectors(session: Session, call: Call, texts: list[str], embedder: Any) -> np.ndarray:
    """Stored utterance vectors when they come from the same model; otherwise embed them (and keep
    them on the call's embedding rows, so the next re-match reads them)."""
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    stored = transcripts_service.match_vectors(session=session, call_id=call.id, model=embedder.name)
    if stored is not None and len(stored) == len(texts):
        return stored
    # An ensemble that includes the search embedder reuses the stored search vectors for that part.
    _ids, search, search_model = transcripts_service.embeddings(session=session, call_id=call.id)
    known = {search_model: search} if search_model and len(search) == len(texts) else {}
    vectors = np.asarray(ml.embed_reusing(embedder, texts, known=known), dtype=np.float32)
    transcripts_service.keep_match_vectors(session=session, call_id=call.id, vectors=vectors, model=embedder.name)
    return vectors


def call_stages(session: Session, call: Call, sop: SopDefinition) -> tuple[list[str] | None, str]:
    """The stages the call works on, and where that comes from: given for the call (at upload or
    re-match), else (a process SOP) its deal's stage when the call happened; (None, "") when
    neither says. Ids the SOP does not have are left out, and the note says so."""
    from app.deals import service as deals_service

    if call.sop_stages:
        stages, source = list(call.sop_stages), "given for this call"
    elif sop.kind == SopKind.PROCESS and (deal := deals_service.deal_for_call(session=session, call=call)) is not None:
        if deal.process_id != sop.id:
            return None, ""
        at = aware(call.occurred_at or call.created_at)
        stages = deals_service.stages_at_call(session=session, deal=deal, at=at)
        source = f"deal {deal.id}'s stage when the call happened" + (" and the next it entered" if len(stages) > 1 else "")
    else:
        return None, ""
    stages, unknown = sop.split_stage_ids(stages)
    note = f"The call's stages: {', '.join(stages) or 'none'} ({source})"
    if unknown:
        note += f"; not stages of {sop.id}, ignored: {', '.join(unknown)}"
    note += "."
    return stages or None, note


def match_and_store(*, session: Session, call: Call, sop_row: SopVersion) -> CallSopResult:
    """Run the matcher and the comparison; replace the call's previous result in one step."""
    sop = SopDefinition.model_validate(sop_row.definition)
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    # The SOP's language picks the matching embedder: its examples and the emission model go with it.
    embedder = ml.get_match_embedder(sop.language)
    vectors = _call_vectors(session, call, [u.text for u in utterances], embedder)
    index = sop_index(sop, sop_row, embedder, reviewed_lines(session, sop, sop_row.version))
    stages, source = call_stages(session, call, sop)
    match = match_call(utterances, index, utterance_vectors=vectors, stage_ids=stages)
    notes = match_notes(sop=sop, language=call.language, utterances=utterances) + ([source] if source else [])
    # A person's corrections of this call (app/sop/review.py) apply to every new match of it.
    result = review.store_result(session=session, call=call, sop_row=sop_row, utterances=utterances,
                                 match=match, notes=notes, embedding_model=embedder.name)
    log.info(
        "sop.matched call_id=%s sop=%s v%s adherence=%.3f",
        call.id,
        sop_row.sop_id,
        sop_row.version,
        result.adherence,
    )
    return result
