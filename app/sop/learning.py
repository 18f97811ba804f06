"""The matcher learning from reviews, made visible and applied to every call of the SOP.

Reviewed lines join their steps' examples for later matches (app/sop/review.reviewed_examples),
but a call matched before a review keeps its labels until it is matched again. So once
`sop_review_rematch_after` reviews of a SOP were saved or removed, every call of the SOP is
re-matched in the background (`sop.rematch_all`; each old result stays until its new one is
written) — automatically at most once per `sop_review_rematch_interval_h` per SOP: changes that
arrive sooner are picked up by the relay's periodic check once the interval has passed. A coach can
also ask for it at once. `status` says what the matcher has learned: the lines per step, and how
many review changes the stored matches have not seen yet.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobs
from app.config import get_settings
from app.db import aware, session_scope, utcnow
from app.sop import review
from app.sop.models import CallSopReview, SopLearning, SopVersion
from app.sop.schema import SopDefinition
from app.users.models import Role, User


def _state(session: Session, sop_id: str) -> SopLearning:
    """The SOP's row, locked for this transaction (created on first use; a racing creator wins)."""
    row = session.get(SopLearning, sop_id, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(SopLearning(sop_id=sop_id, review_changes=0, rematch_calls=0))
        except IntegrityError:
            pass  # another transaction created it first: read theirs
        row = session.get(SopLearning, sop_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def record_review_change(*, session: Session, sop_id: str) -> bool:
    """Count a saved or removed review; queue the SOP's re-match when enough have piled up.

    Returns whether a re-match was queued (in this transaction: it runs after the commit)."""
    row = _state(session, sop_id)
    row.review_changes += 1
    if not _due(row, utcnow()):
        return False
    _queue(session, row)
    return True


def _due(row: SopLearning, now: datetime) -> bool:
    """Enough review changes, and the last automatic re-match is at least the interval ago."""
    settings = get_settings()
    every = settings.sop_review_rematch_after
    if every <= 0 or settings.sop_review_examples_per_step <= 0 or row.review_changes < every:
        return False
    interval = timedelta(hours=settings.sop_review_rematch_interval_h)
    return row.rematched_at is None or now - aware(row.rematched_at) >= interval


def relearn_due() -> list[str]:
    """The periodic check (every relay loop, about once a minute): queue the re-matches whose review
    changes waited for the interval. Returns the SOP ids queued."""
    now = utcnow()
    queued = []
    with session_scope() as session:
        candidates = session.scalars(
            select(SopLearning.sop_id).where(SopLearning.review_changes >= max(get_settings().sop_review_rematch_after, 1))
        ).all()
        for sop_id in candidates:
            row = _state(session, sop_id)
            if _due(row, now):
                _queue(session, row)
                queued.append(sop_id)
    return queued


jobs.register_periodic(relearn_due)


def queue_rematch(*, session: Session, sop_id: str) -> None:
    """Re-match every call of the SOP in the background with what its reviews taught the matcher."""
    _queue(session, _state(session, sop_id))


def _queue(session: Session, row: SopLearning) -> None:
    jobs.enqueue(session, "sop.rematch_all", sop_id=row.sop_id)
    row.review_changes = 0
    row.rematched_at = utcnow()  # the job sets it again, with its number of calls


def record_rematch(*, session: Session, sop_id: str, calls: int, applied_changes: bool = False) -> None:
    """Note a re-match of the SOP's calls: by the `sop.rematch_all` job once it has queued each
    call's (its review changes were counted off when it was queued), or one run in place."""
    row = _state(session, sop_id)
    row.rematched_at = utcnow()
    row.rematch_calls = calls
    if applied_changes:
        row.review_changes = 0


def status(*, session: Session, sop_row: SopVersion, user: User | None = None) -> dict[str, Any]:
    """What the matcher learned for this SOP version, per step, and what it has not applied yet.

    `learned` counts every line the matcher uses (reviews of every team); `learned_examples`
    lists only those from calls the user may see."""
    settings = get_settings()
    sop = SopDefinition.model_validate(sop_row.definition)
    per_step = settings.sop_review_examples_per_step
    used = review.reviewed_examples(session=session, sop=sop, per_step=per_step)
    sees_all = user is None or user.role == Role.admin
    shown = used if sees_all else review.reviewed_examples(session=session, sop=sop, per_step=per_step, user=user)
    reviewed, complete = session.execute(
        select(func.count(), func.count().filter(CallSopReview.complete.is_(True)))
        .where(CallSopReview.sop_id == sop.id)
    ).one()
    row = session.get(SopLearning, sop.id)
    return {
        "sop_id": sop.id,
        "version": sop_row.version,
        "name": sop.name,
        "reviewed_calls": int(reviewed),
        "complete_reviews": int(complete),
        "examples_per_step": per_step,
        "rematch_after": settings.sop_review_rematch_after,
        "rematch_interval_h": settings.sop_review_rematch_interval_h,
        "review_changes_since_rematch": row.review_changes if row else 0,
        "last_rematch": (
            {"at": row.rematched_at.isoformat(), "calls": row.rematch_calls}
            if row is not None and row.rematched_at is not None else None
        ),
        "steps": [
            {
                "stage_id": stage.id,
                "step_id": step.id,
                "name": step.name,
                "speaker": str(step.speaker),
                "examples": len(step.examples),
                "learned": len(used.get(step.id, ())),
                "learned_examples": list(shown.get(step.id, ())),
            }
            for stage, step in sop.steps()
        ],
    }
