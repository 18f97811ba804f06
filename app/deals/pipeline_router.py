"""REST: /api/v1/pipeline/{funnel,conversion,forecast,velocity} and targets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from app.deals import analytics
from app.deals.render import plain
from app.deals.schemas import TargetIn, TargetRead
from app.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/v1/pipeline", tags=["pipeline"])

ProcessQ = Annotated[str | None, Query(max_length=100, description="sales process id; inferred when all deals share one")]
PeriodQ = Annotated[str | None, Query(max_length=10, description="2026, 2026-Q4, 2026-11 or 2026-W45")]


def _scope(session: SessionDep, user: CurrentUser, process_id: ProcessQ = None, team_id: int | None = None,
           rep_id: int | None = None, period: PeriodQ = None) -> analytics.Scope:
    return analytics.make_scope(session=session, user=user, process_id=process_id, team_id=team_id,
                                rep_id=rep_id, period=period)


@router.get("/funnel")
def funnel(session: SessionDep, user: CurrentUser, process_id: ProcessQ = None, team_id: int | None = None,
           rep_id: int | None = None, period: PeriodQ = None) -> dict[str, Any]:
    """Open deals per stage, with sales holes against next period's target."""
    scope = _scope(session, user, process_id, team_id, rep_id, period)
    return plain(analytics.funnel(session=session, user=user, scope=scope))


@router.get("/conversion")
def conversion(session: SessionDep, user: CurrentUser, process_id: ProcessQ = None, team_id: int | None = None,
               rep_id: int | None = None, period: PeriodQ = None,
               min_sample: Annotated[int, Query(ge=1, le=10_000)] = 5) -> dict[str, Any]:
    """Conversion between consecutive stages; the weakest transition flagged."""
    scope = _scope(session, user, process_id, team_id, rep_id, period)
    return plain(analytics.conversion(session=session, user=user, scope=scope, min_sample=min_sample))


@router.get("/forecast")
def forecast(session: SessionDep, user: CurrentUser, process_id: ProcessQ = None, team_id: int | None = None,
             rep_id: int | None = None, period: PeriodQ = None) -> dict[str, Any]:
    """Weighted forecast (Σ amount × win probability) against the period's target."""
    scope = _scope(session, user, process_id, team_id, rep_id, period)
    return plain(analytics.forecast(session=session, user=user, scope=scope))


@router.get("/velocity")
def velocity(session: SessionDep, user: CurrentUser, process_id: ProcessQ = None, team_id: int | None = None,
             rep_id: int | None = None, period: PeriodQ = None) -> dict[str, Any]:
    """Observed vs configured win rate per stage, dwell time per stage and the average sales cycle."""
    scope = _scope(session, user, process_id, team_id, rep_id, period)
    return plain(analytics.velocity(session=session, user=user, scope=scope))


@router.put("/targets", response_model=TargetRead, status_code=status.HTTP_200_OK)
def set_target(target_in: TargetIn, session: SessionDep, user: CurrentUser) -> TargetRead:
    """Set a team's or rep's quota for a period (revenue, or effective new customers per week)."""
    return TargetRead.model_validate(analytics.set_target(session=session, user=user, target_in=target_in))


@router.get("/targets", response_model=list[TargetRead])
def list_targets(session: SessionDep, user: CurrentUser, period: PeriodQ = None) -> list[TargetRead]:
    return [TargetRead.model_validate(t) for t in analytics.list_targets(session=session, user=user, period=period)]
