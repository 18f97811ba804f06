"""A person's review of a call's SOP labels: corrections that the path, deviations and adherence follow.

The matcher is wrong on about one utterance in four (README: SOP matching accuracy). A manager
who sees a wrong label corrects it; the call's path, missed and out-of-order steps, adherence and
clip-library moments are then computed from the corrected labels, and every later match of the call
against the same SOP (a new SOP version, a re-match) applies the corrections again. A review
marked complete means every label was checked: the call becomes a labelled call that
`talktrack sop export-reviews` writes in the evaluation-set format, so a team can measure the
matcher on its own reviewed calls (`talktrack eval sop --labels`).

Stored as one row per call (CallSopReview); the stored result keeps the matcher's own labels
(`matcher`) beside the effective ones (`match`), so a review can be changed or removed without
matching again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.calls.models import Call
from app.calls.service import visible_filter
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.sop.compare import compare_path
from app.sop.evaluation import OFF_SOP
from app.sop.matcher import MatchResult, UtteranceLabel, UtteranceLike, collapse_labels, is_filler
from app.sop.models import CallSopResult, CallSopReview, SopVersion
from app.sop.report import build_report
from app.sop.schema import SopDefinition
from app.transcripts import service as transcripts_service
from app.users.models import User


@dataclass(frozen=True)
class Applied:
    """A match with a review's corrections applied, and what the report should say about it."""

    match: MatchResult
    notes: tuple[str, ...]
    review: dict[str, Any] | None  # the `review` block of the stored result (None: no review applied)


def apply_review(
    match: MatchResult,
    sop: SopDefinition,
    version: int,
    utterances: Sequence[UtteranceLike],
    review: CallSopReview | None,
) -> Applied:
    """The labels a person set replace the matcher's; the path is collapsed again from them.

    A correction naming a step the SOP version no longer has is left out (with a note). A complete
    review confirms the untouched labels too, but only for the version it was made against: after a
    new version, labels not corrected are the new matcher's, unreviewed.
    """
    if review is None:
        return Applied(match, (), None)
    if review.sop_id != sop.id:
        note = (f"a review of this call against SOP '{review.sop_id}' exists; it does not apply to '{sop.id}' "
                "(match the call against that SOP again to see it)")
        return Applied(match, (note,), None)
    stages = {step.id: stage.id for stage, step in sop.steps()}
    corrections = {int(k): v for k, v in review.corrections.items()}
    stale = {i: s for i, s in corrections.items() if s is not None and s not in stages}
    corrections = {i: s for i, s in corrections.items() if i not in stale}
    complete = review.complete and review.sop_version == version
    when = f"{review.reviewed_by or 'a reviewer'} on {review.reviewed_at:%Y-%m-%d}"
    labels = []
    for label in match.labels:
        if label.index in corrections:
            labels.append(_corrected(label, corrections[label.index], when))
        elif complete:
            labels.append(replace(label, score=1.0, evidence=(*label.evidence, f"confirmed by {when} (complete review)")))
        else:
            labels.append(label)
    presence = {} if complete else _presence(match, corrections)
    effective = replace(
        match, labels=tuple(labels), path=collapse_labels(labels, utterances, stages), presence=presence
    )
    notes = []
    if stale:
        notes.append("corrections no longer applied (the step is not in version "
                     f"{version}): " + ", ".join(f"utterance {i} → {s}" for i, s in sorted(stale.items())))
    if review.complete and not complete:
        notes.append(f"reviewed completely against version {review.sop_version}; labels not corrected are "
                     f"the matcher's for version {version}")
    block = {
        "reviewed_by": review.reviewed_by,
        "reviewed_at": review.reviewed_at.isoformat(),
        "sop_version": review.sop_version,
        "complete": complete,
        "corrected": sorted(corrections),
        "changed": sorted(lab.index for lab in match.labels
                          if lab.index in corrections and corrections[lab.index] != lab.step_id),
    }
    return Applied(effective, tuple(notes), block)


def _corrected(label: UtteranceLabel, step_id: str | None, when: str) -> UtteranceLabel:
    if step_id == label.step_id:
        note = f"confirmed by {when}"
    else:
        note = (f"corrected by {when}; the matcher said '{label.step_id or 'off-SOP'}' "
                f"(posterior {label.score:.2f})")
    return replace(label, step_id=step_id, score=1.0, evidence=(note,))


def _presence(match: MatchResult, corrections: Mapping[int, str | None]) -> dict[str, tuple[float, int]]:
    """A corrected label is certain; a step corrected away from the utterance that made it probable
    is no longer probable there (the missed-step report must not be suppressed by it)."""
    out = dict(match.presence)
    for step_id, (_p, at) in match.presence.items():
        if at in corrections and corrections[at] != step_id:
            out[step_id] = (0.0, at)
    for at, step_id in corrections.items():
        if step_id is not None:
            out[step_id] = (1.0, at)
    return out


# ---------------------------------------------------------------------------------------------
# storing results and reviews


def store_result(
    *,
    session: Session,
    call: Call,
    sop_row: SopVersion,
    utterances: Sequence[Any],
    match: MatchResult,
    notes: Sequence[str],
    embedding_model: str,
    matched_at: datetime | None = None,
) -> CallSopResult:
    """Compare the (reviewed) match with the SOP and replace the call's stored result in one step."""
    sop = SopDefinition.model_validate(sop_row.definition)
    _lock_call(session, call)
    review = session.get(CallSopReview, call.id, populate_existing=True)
    applied = apply_review(match, sop, sop_row.version, utterances, review)
    comparison = compare_path(applied.match, sop, utterances)
    payload = build_report(sop=sop, version=sop_row.version, utterances=utterances, match=applied.match,
                           comparison=comparison, notes=[*notes, *applied.notes])
    # The raw matcher and comparison output stay alongside for tools that want every field; with a
    # review, `matcher` keeps the matcher's own labels so the review can change without a new match.
    payload |= {"match": applied.match.to_dict(), "comparison": comparison.to_dict(),
                "match_notes": list(notes), "review": applied.review}
    if applied.review is not None:
        payload["matcher"] = match.to_dict()
        for row in payload["utterances"]:
            row["corrected"] = row["index"] in applied.review["corrected"]
    old = session.get(CallSopResult, call.id)
    if old is not None:
        session.delete(old)
        session.flush()
    result = CallSopResult(
        call_id=call.id,
        sop_id=sop_row.sop_id,
        sop_version=sop_row.version,
        adherence=float(comparison.adherence.score),
        embedding_model=embedding_model,
        result=payload,
        matched_at=matched_at or utcnow(),
    )
    session.add(result)
    session.flush()
    return result


def parse_corrections(items: Sequence[Mapping[str, Any]]) -> dict[int, str | None]:
    """[{index, step}] → {index: step or None}; "off-sop" and null both mean off-SOP."""
    out: dict[int, str | None] = {}
    duplicates = []
    for item in items:
        index = int(item["index"])
        step = item.get("step")
        step = None if step in (None, "", OFF_SOP) else str(step)
        if index in out:
            duplicates.append(index)
        out[index] = step
    if duplicates:
        raise Unprocessable(f"utterances corrected twice: {sorted(set(duplicates))}; send one correction per utterance")
    return out


class Saved(NamedTuple):
    """A review saved or removed: the call's rewritten result, and whether it was the review change
    that queued a re-match of the SOP's calls (app/sop/learning.py)."""

    result: CallSopResult
    rematch_queued: bool


def save_review(
    *,
    session: Session,
    call: Call,
    reviewer: User | None,
    corrections: Mapping[int, str | None],
    complete: bool,
) -> Saved:
    """Validate the corrections against the call's current result, keep them, and rewrite the result."""
    _lock_call(session, call)
    stored = _stored(session, call)
    sop_row = _version(session, stored)
    sop = SopDefinition.model_validate(sop_row.definition)
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    problems = _problems(corrections, sop, {int(u.index) for u in utterances})
    if problems:
        raise Unprocessable("; ".join(problems))
    review = session.get(CallSopReview, call.id)
    if review is None:
        review = CallSopReview(call_id=call.id)
        session.add(review)
    review.sop_id = stored.sop_id
    review.sop_version = stored.sop_version
    review.corrections = {str(i): s for i, s in sorted(corrections.items())}
    review.complete = complete
    review.reviewed_by_id = reviewer.id if reviewer is not None else None
    review.reviewed_by = reviewer.name if reviewer is not None else "cli"
    review.reviewed_at = utcnow()
    session.flush()
    return _counted(session, _rewrite(session, call, stored, sop_row, utterances))


def clear_review(*, session: Session, call: Call) -> Saved:
    """Remove the call's review: the matcher's labels come back."""
    _lock_call(session, call)
    stored = _stored(session, call)
    review = session.get(CallSopReview, call.id)
    if review is None:
        raise Conflict(f"Call {call.id} has no SOP review to remove.")
    session.delete(review)
    session.flush()
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    return _counted(session, _rewrite(session, call, stored, _version(session, stored), utterances))


def _counted(session: Session, result: CallSopResult) -> Saved:
    """Every saved or removed review counts towards the SOP's next re-match."""
    from app.sop import learning  # it reads this module's reviewed lines

    return Saved(result, learning.record_review_change(session=session, sop_id=result.sop_id))


def _rewrite(
    session: Session, call: Call, stored: CallSopResult, sop_row: SopVersion, utterances: Sequence[Any]
) -> CallSopResult:
    payload = stored.result
    raw = MatchResult.from_dict(payload.get("matcher") or payload["match"])
    result = store_result(
        session=session, call=call, sop_row=sop_row, utterances=utterances, match=raw,
        notes=payload.get("match_notes", []), embedding_model=stored.embedding_model,
        matched_at=stored.matched_at,
    )
    jobs.enqueue(session, "library.update", call_id=call.id)  # clips follow the corrected labels
    return result


def _lock_call(session: Session, call: Call) -> None:
    """Serialise the writers of one call's result (a match finishing, a review being saved) on the
    call's row, so neither writes a result from a review or a match the other has just replaced.
    PostgreSQL row lock until commit; SQLite serialises writers by itself (the clause is dropped)."""
    session.execute(select(Call.id).where(Call.id == call.id).with_for_update())


def _stored(session: Session, call: Call) -> CallSopResult:
    stored = session.get(CallSopResult, call.id, populate_existing=True)
    if stored is None:
        raise Conflict(f"Call {call.id} has no SOP result to review yet; it is reviewed after it is matched.")
    return stored


def _version(session: Session, stored: CallSopResult) -> SopVersion:
    from app.sop import service as sop_service

    return sop_service.get_version(session=session, sop_id=stored.sop_id, version=stored.sop_version)


def _problems(corrections: Mapping[int, str | None], sop: SopDefinition, indexes: set[int]) -> list[str]:
    steps = [step.id for _stage, step in sop.steps()]
    unknown_index = sorted(i for i in corrections if i not in indexes)
    unknown_step = sorted({s for s in corrections.values() if s is not None and s not in steps})
    problems = []
    if unknown_index:
        problems.append(f"no utterance with index {', '.join(map(str, unknown_index[:10]))} in this call "
                        f"(indexes run {min(indexes, default=0)}–{max(indexes, default=0)})")
    if unknown_step:
        problems.append(f"SOP '{sop.id}' has no step {', '.join(repr(s) for s in unknown_step[:10])}; "
                        f"use one of {', '.join(steps)}, or null / '{OFF_SOP}' for off-SOP")
    return problems


# ---------------------------------------------------------------------------------------------
# reviewed lines as step examples: the matcher learns the team's own phrasings


def review_signature(*, session: Session, sop_id: str) -> tuple[int, str, str]:
    """Changes whenever a review of this SOP is saved or removed, or a reviewed call is matched
    again (its stored lines may change): one aggregate over the reviews and their results."""
    count, newest, matched = session.execute(
        select(func.count(), func.max(CallSopReview.reviewed_at), func.max(CallSopResult.matched_at))
        .outerjoin(CallSopResult, CallSopResult.call_id == CallSopReview.call_id)
        .where(CallSopReview.sop_id == sop_id)
    ).one()
    return int(count), str(newest), str(matched)


# The newest reviewed calls read for examples: enough to fill every step at the default cap, and
# a bound on the work after each review change however many calls a team has reviewed.
REVIEWED_CALLS_READ = 200


def reviewed_examples(
    *, session: Session, sop: SopDefinition, per_step: int, user: User | None = None
) -> dict[str, tuple[str, ...]]:
    """Lines people labelled with each step, newest reviews first, at most `per_step` per step.

    From a complete review every labelled line counts, from a partial one the corrected lines. Only
    the step's own speaker's lines (a customer's answer inside a rep step says little about how
    the rep does the step), no fillers, none the SOP already has as an example. With a user: only
    the lines of calls that user may see (the matcher itself reads every team's).
    """
    if per_step <= 0:
        return {}
    steps = {step.id: step for _stage, step in sop.steps()}
    seen = {text for step in steps.values() for text in step.examples}
    out: dict[str, list[str]] = {}
    query = (
        select(CallSopResult.result)
        .join(CallSopReview, CallSopReview.call_id == CallSopResult.call_id)
        .where(CallSopReview.sop_id == sop.id, CallSopResult.sop_id == sop.id)
        .order_by(CallSopReview.reviewed_at.desc(), CallSopReview.call_id)
        .limit(REVIEWED_CALLS_READ)
    )
    if user is not None:
        query = query.join(Call, Call.id == CallSopResult.call_id).where(visible_filter(user))
    for payload in session.execute(query).scalars():
        review = payload.get("review") or {}
        corrected = set(review.get("corrected", []))
        for u in payload["utterances"]:
            step = steps.get(u["step"] or "")
            if step is None or not (review.get("complete") or u["index"] in corrected):
                continue
            text = u["text"].strip()
            taken = out.setdefault(step.id, [])
            if (len(taken) < per_step and text not in seen and str(u["role"]) == str(step.speaker)
                    and not is_filler(text)):
                taken.append(text)
                seen.add(text)
    return {step_id: tuple(texts) for step_id, texts in out.items() if texts}


def with_examples(sop: SopDefinition, extra: Mapping[str, Sequence[str]]) -> SopDefinition:
    """The SOP with extra examples appended to its steps (the definition itself is unchanged)."""
    if not extra:
        return sop
    stages = [
        stage.model_copy(update={"steps": [
            step.model_copy(update={"examples": [*step.examples, *extra.get(step.id, ())]}) for step in stage.steps
        ]})
        for stage in sop.stages
    ]
    return sop.model_copy(update={"stages": stages})


# ---------------------------------------------------------------------------------------------
# which calls to review next

# A label whose posterior is below this is marked unsure. On the evaluation set (leave-one-SOP-out,
# scripts/sop_confidence.py) such lines were right about half the time, lines above 0.95 nearly always.
UNSURE_BELOW = 0.7
# How many of the SOP's newest results the queue reads (it parses each stored result).
QUEUE_READS = 500
# A call's expected share of wrong labels is shrunk towards the SOP's average as if it had this many
# more lines at that average: a 5-line call with two unsure labels does not outrank every real call.
QUEUE_PRIOR_LINES = 10


def queue_score(expected_wrong: float, lines: int, average_share: float) -> float:
    """A call's place in the review queue: its expected share of wrong labels, shrunk for short calls."""
    return (expected_wrong + QUEUE_PRIOR_LINES * average_share) / (lines + QUEUE_PRIOR_LINES)


def review_queue(*, session: Session, sop_id: str, user: User | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The SOP's matched calls whose labels most need a person, most first: ranked by the expected
    share of wrong labels (the mean of 1 − posterior over lines the matcher labelled itself, shrunk
    towards the average for short calls: queue_score), so a reviewer finds the most errors per line
    read (scripts/sop_confidence.py measures it on SOPs the model never saw).

    Completely reviewed calls are left out; a partial review's corrected lines count as certain.
    Only calls the user may see, among the newest QUEUE_READS results."""
    query = (select(CallSopResult, Call).join(Call, Call.id == CallSopResult.call_id)
             .where(CallSopResult.sop_id == sop_id)
             .order_by(CallSopResult.matched_at.desc()).limit(QUEUE_READS))
    if user is not None:
        query = query.where(visible_filter(user))
    candidates = []  # (stored result, call, posteriors of the lines the matcher labelled itself)
    for stored, call in session.execute(query).all():
        review = stored.result.get("review") or {}
        if review.get("complete"):
            continue
        corrected = set(review.get("corrected", []))
        scores = [float(u["score"]) for u in stored.result["utterances"]
                  if u.get("score") is not None and u["index"] not in corrected]
        if scores:
            candidates.append((stored, call, scores))
    average = (sum(len(s) - sum(s) for _r, _c, s in candidates)
               / max(sum(len(s) for _r, _c, s in candidates), 1))
    out = []
    for stored, call, scores in candidates:
        expected = sum(1.0 - score for score in scores)
        out.append({
            "call_id": call.id, "title": call.title, "rep": call.rep_name, "language": call.language,
            "sop_version": stored.sop_version, "matched_at": stored.matched_at.isoformat(),
            "adherence": stored.adherence, "lines": len(stored.result["utterances"]),
            "unsure_lines": sum(score < UNSURE_BELOW for score in scores),
            "expected_wrong": round(expected, 2),
            "expected_wrong_share": round(expected / len(scores), 4),
            "priority": round(queue_score(expected, len(scores), average), 4),
            "partially_reviewed": bool(stored.result.get("review")),
        })
    out.sort(key=lambda row: (-row["priority"], -row["expected_wrong"], row["call_id"]))
    return out[:limit]


# ---------------------------------------------------------------------------------------------
# reviewed calls as labelled calls (the evaluation-set format of tests/data/sop_eval)


def reviewed_calls(
    *, session: Session, sop_id: str, user: User | None = None, complete_only: bool = True
) -> list[dict[str, Any]]:
    """Every reviewed call of this SOP (that the user may see) as a labelled call document."""
    query = (select(CallSopReview, CallSopResult, Call)
             .join(CallSopResult, CallSopResult.call_id == CallSopReview.call_id)
             .join(Call, Call.id == CallSopReview.call_id)
             .where(CallSopReview.sop_id == sop_id, CallSopResult.sop_id == sop_id)
             .order_by(CallSopReview.call_id))
    if complete_only:
        query = query.where(CallSopReview.complete.is_(True))
    if user is not None:
        query = query.where(visible_filter(user))
    # A review completed against an older version no longer covers the new matcher labels: the
    # stored result says whether it is still complete.
    return [_labelled_call(call, result) for _review, result, call in session.execute(query).all()
            if (result.result.get("review") or {}).get("complete") or not complete_only]


def _labelled_call(call: Call, stored: CallSopResult) -> dict[str, Any]:
    payload = stored.result
    comparison = payload["comparison"]
    return {
        "id": f"call-{call.id}",
        "sop": f"{stored.sop_id}.v{stored.sop_version}.yaml",
        "split": "review",
        "language": call.language or payload["sop"]["language"],
        "note": f"{call.title} (reviewed by {payload['review']['reviewed_by']}, "
                f"{payload['review']['reviewed_at'][:10]})",
        "stages": list(comparison.get("scope_stage_ids") or []),
        "deviations": {
            "missed": [m["step_id"] for m in comparison["missed"]],
            "out_of_order": [o["step_id"] for o in comparison["out_of_order"]],
        },
        "utterances": [
            {"index": u["index"], "speaker": u["speaker"] or u["role"], "role": u["role"], "start": u["start"],
             "end": u["end"], "text": u["text"], "label": u["step"] or OFF_SOP}
            for u in payload["utterances"]
        ],
    }
