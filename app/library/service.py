"""Snippets: cut a matched call into scored rep moments, keep scores fresh, read them.

A snippet is one to three consecutive rep utterances labelled with the same SOP step (a
step spoken by the rep or by anyone), with the customer utterance just before (what the rep
answered) and up to three customer utterances after it (the response it is scored on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import ml
from app.calls.models import Call, CallStatus
from app.errors import NotFound
from app.library import scoring, search
from app.library.lexicons import LibrarySettings, language_of, library_settings
from app.library.models import LibraryState, Snippet
from app.transcripts import service as transcripts_service
from app.transcripts.formats import Utterance

log = logging.getLogger(__name__)

MAX_MOMENT_UTTERANCES = 3
MAX_RESPONSE_UTTERANCES = 3
KNOWN_OUTCOMES = scoring.POSITIVE | scoring.NEGATIVE


class SnippetNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Moment:
    """A rep moment before scoring: utterance positions and its step."""

    step_id: str
    group: list[int]
    response: list[int]
    before: int | None
    fit: float
    label_score: float
    similarity: float
    before_step: str | None = None


def find_moments(utterances: list[Utterance], labels: dict[int, dict[str, Any]], rep_steps: set[str]) -> list[Moment]:
    """Consecutive rep utterances of one rep-side step, with the customer's turns around them."""
    moments: list[Moment] = []
    i, n = 0, len(utterances)
    while i < n:
        step = _rep_step(utterances[i], labels, rep_steps)
        if step is None:
            i += 1
            continue
        j = i + 1
        while j < n and j - i < MAX_MOMENT_UTTERANCES and _rep_step(utterances[j], labels, rep_steps) == step:
            j += 1
        response, k = [], j
        while k < n and utterances[k].role != "rep" and len(response) < MAX_RESPONSE_UTTERANCES:
            if utterances[k].role == "customer":
                response.append(k)
            k += 1
        before = i - 1 if i > 0 and utterances[i - 1].role == "customer" else None
        group = list(range(i, j))
        group_labels = [labels[utterances[g].index] for g in group]
        post = float(np.mean([lab["score"] for lab in group_labels]))
        sim = float(np.mean([lab["similarity"] for lab in group_labels]))
        before_step = labels.get(utterances[before].index, {}).get("step_id") if before is not None else None
        moments.append(Moment(step, group, response, before, (post + max(sim, 0.0)) / 2, post, sim, before_step))
        i = j
    return moments


def _rep_step(utterance: Utterance, labels: dict[int, dict[str, Any]], rep_steps: set[str]) -> str | None:
    label = labels.get(utterance.index)
    if utterance.role != "rep" or label is None or label.get("step_id") not in rep_steps:
        return None
    return str(label["step_id"])


def call_outcome(*, session: Session, call: Call) -> tuple[str | None, str]:
    """The deal outcome after the call (advanced/won/stalled/lost) with evidence; None when unknown.

    The deals domain is optional: when it is absent, or has nothing decisive (pending,
    unlinked), the outcome is unknown and scoring uses its documented fallback.
    """
    try:
        from app.deals import service as deals_service
    except ImportError:
        return None, "deal outcomes are not available in this installation"
    try:
        explain = getattr(deals_service, "explain_call_outcome", None)
        if explain is not None:
            found = explain(session=session, call=call)
            value, evidence = str(getattr(found.outcome, "value", found.outcome)), str(found.evidence)
        else:
            found = deals_service.call_outcome(session=session, call=call)
            value, evidence = str(getattr(found, "value", found)), f"deal outcome: {found}"
    except Exception as exc:  # noqa: BLE001 - a broken deals lookup must not stop the library
        log.warning("library.outcome_failed call_id=%s error=%s", call.id, exc)
        return None, f"outcome lookup failed: {exc}"
    return (value if value in KNOWN_OUTCOMES else None), evidence


def extract_snippets(*, session: Session, call: Call, settings: LibrarySettings) -> list[Snippet]:
    """Build (unsaved) snippets for a ready call from its SOP match; none without a match."""
    from app.sop import service as sop_service

    result = sop_service.get_result(session=session, call_id=call.id)
    if result is None:
        return []
    definition = sop_service.definition_of(sop_service.get_version(session=session, sop_id=result.sop_id,
                                                                    version=result.sop_version))
    steps = {step.id: (stage, step) for stage, step in definition.steps()}
    rep_steps = {sid for sid, (_, step) in steps.items() if step.speaker != "customer"}
    labels = {int(lab["index"]): lab for lab in result.result["match"]["labels"]}
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    moments = find_moments(utterances, labels, rep_steps)
    if not moments:
        return []
    outcome, evidence = call_outcome(session=session, call=call)
    embedder = ml.get_embedder()
    texts = [" ".join(utterances[g].text for g in m.group) for m in moments]
    vectors = np.asarray(embedder.embed(texts, kind="passage"), dtype=np.float32)
    return [
        _snippet(call, result, steps, utterances, m, text, vec, outcome, evidence, embedder.name, settings)
        for m, text, vec in zip(moments, texts, vectors, strict=True)
    ]


def _snippet(call: Call, result: Any, steps: dict[str, Any], utterances: list[Utterance], m: Moment, text: str,
             vector: np.ndarray, outcome: str | None, evidence: str, model: str,
             settings: LibrarySettings) -> Snippet:
    stage, step = steps[m.step_id]
    customer = " ".join(utterances[k].text for k in m.response)
    features = scoring.response_features(customer_text=customer, fit=m.fit, settings=settings)
    features |= {"label_score": round(m.label_score, 4), "similarity": round(m.similarity, 4)}
    if m.before_step in steps and steps[m.before_step][1].speaker == "customer":
        features |= {"before_step": m.before_step, "before_step_name": steps[m.before_step][1].name}
    end_index = m.response[-1] if m.response else m.group[-1]
    return Snippet(
        call_id=call.id, sop_id=result.sop_id, sop_version=result.sop_version, step_id=m.step_id,
        step_name=step.name, stage_id=stage.id, team_id=call.team_id, rep_id=call.rep_id, rep_name=call.rep_name,
        language=call.language or language_of(text), occurred_at=call.occurred_at or call.created_at,
        start=float(utterances[m.group[0]].start), end=float(utterances[end_index].end),
        utterance_indexes=[utterances[g].index for g in m.group],
        response_indexes=[utterances[k].index for k in m.response], rep_text=text,
        customer_before=utterances[m.before].text if m.before is not None else "", customer_text=customer,
        features=features, outcome=outcome, outcome_evidence=evidence, vector=vector.tobytes(),
        vector_model=model,
    )


def replace_call_snippets(*, session: Session, call: Call) -> list[Snippet]:
    """Re-cut a call's snippets (idempotent): old ones are deleted, new ones added unscored.

    The search index hears of both after the commit: a database may hand a deleted row's id to a
    new snippet (SQLite does), and "already indexed" must not then keep the old text.
    """
    for row_id in session.scalars(select(Snippet.id).where(Snippet.call_id == call.id)):
        search.mark_removal(session, search.SNIPPET, row_id)
    session.execute(delete(Snippet).where(Snippet.call_id == call.id))
    if call.status != CallStatus.ready:
        return []
    snippets = extract_snippets(session=session, call=call, settings=library_settings())
    session.add_all(snippets)
    session.flush()
    for snippet in snippets:
        search.mark_upsert(session, search.SNIPPET, snippet.id)
    return snippets


def refresh_outcomes(*, session: Session) -> int:
    """Ask the deals domain again for calls whose snippets still have no known outcome."""
    call_ids = session.scalars(select(Snippet.call_id).where(Snippet.outcome.is_(None)).distinct()).all()
    changed = 0
    for call_id in call_ids:
        call = session.get(Call, call_id)
        if call is None:
            continue
        outcome, evidence = call_outcome(session=session, call=call)
        if outcome is not None:
            for snippet in session.scalars(select(Snippet).where(Snippet.call_id == call_id)):
                snippet.outcome, snippet.outcome_evidence = outcome, evidence
                changed += 1
    session.flush()
    return changed


def rescore_all(*, session: Session) -> dict[str, Any]:
    """(Re)train the outcome model when enough labels exist and rescore every snippet."""
    settings = library_settings()
    snippets = list(session.scalars(select(Snippet)))
    model = scoring.train_outcome_model([s.features for s in snippets], [s.outcome for s in snippets],
                                        min_labelled=settings.min_labelled)
    predicted = model.predict([s.features for s in snippets]) if model and snippets else None
    for i, snippet in enumerate(snippets):
        value, explanation = scoring.score(
            features=snippet.features, outcome=snippet.outcome, outcome_evidence=snippet.outcome_evidence,
            customer_text=snippet.customer_text, settings=settings, model=model,
            predicted=float(predicted[i]) if predicted is not None else None,
        )
        snippet.score, snippet.explanation = value, explanation
    summary = model.summary() if model else {"kind": "fallback", "n_labelled": sum(
        1 for s in snippets if s.outcome in KNOWN_OUTCOMES), "min_labelled": settings.min_labelled}
    state = session.get(LibraryState, "outcome_model") or LibraryState(key="outcome_model", value={})
    state.value = summary
    session.add(state)
    session.flush()
    return summary


def get_snippet(*, session: Session, snippet_id: int) -> Snippet:
    snippet = session.get(Snippet, snippet_id)
    if snippet is None:
        raise SnippetNotFound(f"Snippet {snippet_id} does not exist (its call may have been deleted).")
    return snippet


def list_snippets(
    *, session: Session, offset: int, limit: int, call_id: int | None = None, step: str | None = None,
    topic: str | None = None,
) -> tuple[list[Snippet], int]:
    conditions = []
    if call_id is not None:
        conditions.append(Snippet.call_id == call_id)
    if step is not None:
        conditions.append(Snippet.step_id == step)
    if topic is not None:
        conditions.append(Snippet.topic == topic)
    total = session.scalar(select(func.count()).select_from(Snippet).where(*conditions)) or 0
    rows = session.scalars(select(Snippet).where(*conditions).order_by(Snippet.score.desc(), Snippet.id)
                           .offset(offset).limit(limit)).all()
    return list(rows), total


def vector_of(row: Any) -> np.ndarray:
    return np.frombuffer(row.vector, dtype=np.float32)
