"""REST: /api/v1/followups — the 1-15-30 board, weekly review, reminders, effective new customers, 80/20."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.db import utcnow
from app.deals import followups
from app.deals.periods import parse_period
from app.deals.render import plain
from app.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/v1/followups", tags=["followups"])
PeriodQ = Annotated[str | None, Query(max_length=10, description="2026-W45 (default: this week), 2026-11, 2026-Q4")]


@router.get("")
def board(session: SessionDep, user: CurrentUser, rep_id: int | None = None) -> dict[str, Any]:
    """Deals past 15 days without follow-up, and past 30 days without progress awaiting an intent judgment."""
    return plain(followups.board(session=session, user=user, rep_id=rep_id))


@router.get("/review")
def weekly_review(session: SessionDep, user: CurrentUser, rep_id: int | None = None,
                  week: PeriodQ = None) -> dict[str, Any]:
    """The rep's weekly 1:1 review list: every open deal and what happened this week."""
    rep = followups.check_rep(session=session, user=user, rep_id=rep_id)
    return plain(followups.weekly_review(session=session, rep=rep, week=parse_period(week) if week else None))


@router.get("/reminders")
def reminders(session: SessionDep, user: CurrentUser) -> list[Any]:
    """Open deals past their stage's expected_days or the process's average cycle."""
    return plain(followups.reminders(session=session, user=user))


@router.get("/effective-new")
def effective_new(session: SessionDep, user: CurrentUser, rep_id: int | None = None, period: PeriodQ = None,
                  target_per_week: Annotated[Decimal | None, Query(ge=0)] = None) -> dict[str, Any]:
    """Effective new customers (need, budget, signer confirmed) per day against the weekly target."""
    rep = followups.check_rep(session=session, user=user, rep_id=rep_id)
    chosen = followups.parse_or_current_week(period, utcnow())
    return plain(followups.effective_new(session=session, rep=rep, period=chosen, target_per_week=target_per_week))


@router.get("/activity-mix")
def activity_mix(session: SessionDep, user: CurrentUser, rep_id: int | None = None, period: PeriodQ = None,
                 target_new_share: Annotated[float, Query(ge=0, le=1)] = followups.DEFAULT_NEW_SHARE) -> dict[str, Any]:
    """Share of activity on new vs existing accounts, against the 80/20 rule."""
    rep = followups.check_rep(session=session, user=user, rep_id=rep_id)
    chosen = followups.parse_or_current_week(period, utcnow())
    return plain(followups.activity_mix(session=session, rep=rep, period=chosen, target_new_share=target_new_share))
