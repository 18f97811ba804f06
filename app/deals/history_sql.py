"""Set-based reads of deal stage history for the analytics, on SQLite and PostgreSQL alike.

Nothing here walks deal_stage_event: app.deals.stage_summary keeps, in step with the history, two keys
on each deal (the stages it entered, the stages it advanced out of), which conversion and win rate per
stage group by, and deal_stage_summary (one row per deal and stage), whose stays dwell sums. Durations
are summed in SQL and averaged here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, cast, func, literal, select
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


def stage_reach(*, session: Session, conditions: Sequence[ColumnElement[bool]], stage_ids: list[str]) -> StageReach:
    """For each stage: deals (by status) with an event into it, and deals with an advance/win out of it.

    Deals are counted per (status, entered_stages, advanced_stages) — a few hundred groups whatever the
    number of deals, read from one index — and the keys are expanded here."""
    wanted = set(stage_ids)
    rows = session.execute(select(Deal.status, Deal.entered_stages, Deal.advanced_stages, func.count())
                           .where(*conditions)
                           .group_by(Deal.status, Deal.entered_stages, Deal.advanced_stages)).all()
    entered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    left: dict[str, int] = defaultdict(int)
    for status, entered_key, advanced_key, n in rows:
        for stage_id in wanted.intersection((entered_key or "").split()):
            entered[stage_id][status] += n
        for stage_id in wanted.intersection((advanced_key or "").split()):
            left[stage_id] += n
    return StageReach({k: dict(v) for k, v in entered.items()}, dict(left))


def stays(*, session: Session, conditions: Sequence[ColumnElement[bool]], stage_ids: list[str]) -> Stays:
    """Completed stays per stage and their total length, summed over the summary rows of the deals in scope."""
    summary = DealStageSummary
    rows = session.execute(
        select(summary.stage_id, func.sum(summary.stays), cast(func.sum(summary.dwell_seconds), Float))
        .join(Deal, Deal.id == summary.deal_id)
        .where(*conditions, summary.stage_id.in_(stage_ids), summary.stays > 0)
        .group_by(summary.stage_id)).all()
    return Stays({s: int(n) for s, n, _t in rows}, {s: float(t or 0) for s, _n, t in rows})


def average_cycle(*, session: Session, conditions: Sequence[ColumnElement[bool]]) -> tuple[float | None, int]:
    """Average days from opening to winning over won deals matching the conditions, and how many."""
    seconds = seconds_between(session, Deal.opened_at, Deal.closed_at)
    n, total = session.execute(select(func.count(), cast(func.sum(seconds), Float)).where(
        *conditions, Deal.status == DealStatus.won, Deal.closed_at.is_not(None))).one()
    return (round(float(total or 0) / 86400 / n, 2) if n else None), int(n)
