"""Retention: delete each team's calls older than its `retention_days`, with everything derived from them.

A call is deleted through `calls_service.delete_call` (rows now, media after commit);
utterances, embeddings and stored originals cascade with it. Data kept outside the
database (search index entries, clips) registers a hook with `register_delete_hook`,
called with the call ids before they are deleted, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.calls.models import Call, CallStatus
from app.db import aware, utcnow
from app.users.models import Team, User

log = logging.getLogger(__name__)

DeleteHook = Callable[[Session, list[int]], None]
DELETE_HOOKS: list[DeleteHook] = []
BATCH = 200
# Calls still in the pipeline are left for the next run: a stage may be writing to them.
BUSY = {CallStatus.queued, CallStatus.transcribing, CallStatus.attributing, CallStatus.embedding,
        CallStatus.matching}


def register_delete_hook(hook: DeleteHook) -> DeleteHook:
    """Register `hook(session, call_ids)` to remove data kept outside the call's rows (index, clips)."""
    if hook not in DELETE_HOOKS:
        DELETE_HOOKS.append(hook)
    return hook


@dataclass(frozen=True)
class Expired:
    call_id: int
    team_id: int
    team_name: str
    occurred_at: datetime | None
    created_at: datetime
    age_days: int
    retention_days: int


@dataclass(frozen=True)
class RetentionResult:
    dry_run: bool
    expired: tuple[Expired, ...]
    deleted: int


def expired_calls(*, session: Session, now: datetime | None = None, limit: int | None = None) -> list[Expired]:
    """Calls past their team's retention, oldest first; a call's age counts from when it occurred."""
    now = now or utcnow()
    out: list[Expired] = []
    teams = session.scalars(select(Team).where(Team.retention_days.is_not(None)).order_by(Team.id))
    for team in teams:
        cutoff = now - timedelta(days=team.retention_days or 0)
        when = func.coalesce(Call.occurred_at, Call.created_at)
        rows = session.scalars(
            select(Call)
            .where(Call.team_id == team.id, when < cutoff, Call.status.not_in([s.value for s in BUSY]))
            .order_by(when, Call.id)
            .limit(limit)
        )
        for call in rows:
            reference = aware(call.occurred_at or call.created_at)
            out.append(Expired(call.id, team.id, team.name, call.occurred_at, call.created_at,
                               (now - reference).days, team.retention_days or 0))
    return out


def run(*, session: Session, dry_run: bool, actor: User | None = None, now: datetime | None = None) -> RetentionResult:
    """Delete (or, with dry_run, only list) every expired call; audited either way."""
    expired = expired_calls(session=session, now=now)
    deleted = 0
    if not dry_run:
        for start in range(0, len(expired), BATCH):
            deleted += _delete_batch(session, [e.call_id for e in expired[start:start + BATCH]])
    audit_service.record(
        session=session, actor=actor, action=AuditAction.retention_run, target_type="retention",
        detail={"dry_run": dry_run, "expired": len(expired), "deleted": deleted,
                "call_ids": [e.call_id for e in expired][:1000]},
    )
    log.info("retention.run dry_run=%s expired=%s deleted=%s", dry_run, len(expired), deleted)
    return RetentionResult(dry_run=dry_run, expired=tuple(expired), deleted=deleted)


def _delete_batch(session: Session, call_ids: list[int]) -> int:
    for hook in DELETE_HOOKS:
        hook(session, call_ids)
    deleted = 0
    for call in session.scalars(select(Call).where(Call.id.in_(call_ids))):
        calls_service.delete_call(session=session, call=call)
        deleted += 1
    session.flush()
    return deleted
