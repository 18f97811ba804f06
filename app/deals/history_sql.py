"""Set-based reads of deal stage history for the analytics, on SQLite and PostgreSQL alike.

Conversion, win rate per stage and dwell read deal_stage_summary (one row per deal and stage, kept in
step with the history by app.deals.stage_summary) joined to the deals in scope: a few rows per deal
instead of every event, and no per-deal grouping. Durations are summed in SQL and averaged here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from app.deals.models import Deal, DealStageSummary, DealStatus


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """end − start in seconds (SQLite keeps datetimes as text; julianday is accurate to the millisecond)."""
    if _dialect(session) == "postgresql":
        # date_part is float8 (EXTRACT is numeric since PostgreSQL 14): summing a million numerics costs ~0.3 s.
        return func.date_part("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * literal(86400.0)


@dataclass(frozen=True)
class StageReach:
    """Distinct deals per stage: entered (split by the deal's status now) and left by advancing or winning."""

    entered: dict[str, dict[str, int]]
    left: dict[str, int]

    def entered_total(self, stage_id: str) -> int:
        return sum(self.entered.get(stage_id, {}).values())


@dataclass(frozen=True)
class Stays:
    """Per stage: completed stays (an event into the stage followed by the deal's next event) and their total."""

    count: dict[str, int]
    seconds: dict[str, float]

    def average_days(self, stage_id: str) -> float | None:
        n = self.count.get(stage_id, 0)
        return round(self.seconds[stage_id] / 86400 / n, 2) if n else None


@dataclass(frozen=True)
class StageStats:
    reach: StageReach
    stays: Stays


def stage_stats(*, session: Session, conditions: Sequence[ColumnElement[bool]], stage_ids: list[str]) -> StageStats:
    """One pass over the summary rows of the deals in scope, grouped by stage and the deal's status:
    deals that entered the stage, deals that advanced (or won) out of it, completed stays and their length."""
    summary = DealStageSummary
    rows = session.execute(
        select(summary.stage_id, Deal.status, func.count(case((summary.entries > 0, 1))),
               func.count(case((summary.advanced_out > 0, 1))), func.sum(summary.stays),
               cast(func.sum(summary.dwell_seconds), Float))
        .join(Deal, Deal.id == summary.deal_id)
        .where(*conditions, summary.stage_id.in_(stage_ids))
        .group_by(summary.stage_id, Deal.status)).all()
    entered: dict[str, dict[str, int]] = defaultdict(dict)
    left: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for stage_id, status, n_entered, n_left, n_stays, total in rows:
        if n_entered:
            entered[stage_id][status] = int(n_entered)
        if n_left:
            left[stage_id] += int(n_left)
        if n_stays:
            count[stage_id] += int(n_stays)
            seconds[stage_id] += float(total or 0)
    return StageStats(StageReach(dict(entered), dict(left)), Stays(dict(count), dict(seconds)))


def stage_reach(*, session: Session, conditions: Sequence[ColumnElement[bool]], stage_ids: list[str]) -> StageReach:
    """For each stage: deals (by status) with an event into it, and deals with an advance/win out of it."""
    return stage_stats(session=session, conditions=conditions, stage_ids=stage_ids).reach


def average_cycle(*, session: Session, conditions: Sequence[ColumnElement[bool]]) -> tuple[float | None, int]:
    """Average days from opening to winning over won deals matching the conditions, and how many."""
    seconds = seconds_between(session, Deal.opened_at, Deal.closed_at)
    n, total = session.execute(select(func.count(), cast(func.sum(seconds), Float)).where(
        *conditions, Deal.status == DealStatus.won, Deal.closed_at.is_not(None))).one()
    return (round(float(total or 0) / 86400 / n, 2) if n else None), int(n)
