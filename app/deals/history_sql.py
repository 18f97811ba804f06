"""Set-based reads of deal stage history for the analytics, on SQLite and PostgreSQL alike.

Per-stage "distinct deals that ever entered / left a stage" are counted in one pass over the events:
each deal's stages are folded into a bitmask (stage i → bit i), then deals are counted per
(status, entered mask, left mask) — a few hundred rows whatever the number of deals — and the bits
are expanded here. Durations are summed in SQL as seconds and averaged here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, case, cast, distinct, func, literal, select
from sqlalchemy.orm import Session

from app.deals.models import Deal, DealStageEvent, DealStatus, EventKind

# Bits of a signed 64-bit integer; a process with more stages falls back to a per-stage DISTINCT count.
MAX_MASK_STAGES = 62
LEFT_KINDS = (EventKind.advanced, EventKind.won)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """end − start in seconds (SQLite keeps datetimes as text; julianday is accurate to the millisecond)."""
    if _dialect(session) == "postgresql":
        # date_part is float8 (EXTRACT is numeric since PostgreSQL 14): summing a million numerics costs ~0.3 s.
        return func.date_part("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * literal(86400.0)


def _bit_or(session: Session, expr: ColumnElement) -> ColumnElement:
    # SQLite has no BIT_OR; a sum of distinct powers of two is the same number.
    return func.bit_or(expr) if _dialect(session) == "postgresql" else func.sum(distinct(expr))


@dataclass(frozen=True)
class StageReach:
    """Distinct deals per stage: entered (split by the deal's status now) and left by advancing or winning."""

    entered: dict[str, dict[str, int]]
    left: dict[str, int]

    def entered_total(self, stage_id: str) -> int:
        return sum(self.entered.get(stage_id, {}).values())


def stage_reach(*, session: Session, conditions: Sequence[ColumnElement[bool]], stage_ids: list[str]) -> StageReach:
    """For each stage: deals (by status) with an event into it, and deals with an advance/win out of it."""
    if not stage_ids:
        return StageReach({}, {})
    if len(stage_ids) > MAX_MASK_STAGES:
        return _stage_reach_distinct(session=session, conditions=conditions, stage_ids=stage_ids)
    into = case({s: 1 << i for i, s in enumerate(stage_ids)}, value=DealStageEvent.to_stage)
    out = case((DealStageEvent.kind.in_(LEFT_KINDS),
                case({s: 1 << i for i, s in enumerate(stage_ids)}, value=DealStageEvent.from_stage)))
    per_deal = (select(Deal.status.label("status"), _bit_or(session, into).label("entered"),
                       _bit_or(session, out).label("left"))
                .join(Deal, Deal.id == DealStageEvent.deal_id).where(*conditions)
                # Grouped by the deal's primary key alone (status depends on it): no sort on (id, status).
                .group_by(Deal.id).subquery())
    rows = session.execute(select(per_deal.c.status, per_deal.c.entered, per_deal.c.left, func.count())
                           .group_by(per_deal.c.status, per_deal.c.entered, per_deal.c.left)).all()
    entered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    left: dict[str, int] = defaultdict(int)
    for status, entered_mask, left_mask, n in rows:
        for i, stage_id in enumerate(stage_ids):
            if int(entered_mask or 0) >> i & 1:
                entered[stage_id][status] += n
            if int(left_mask or 0) >> i & 1:
                left[stage_id] += n
    return StageReach({k: dict(v) for k, v in entered.items()}, dict(left))


def _stage_reach_distinct(*, session: Session, conditions: Sequence[ColumnElement[bool]],
                          stage_ids: list[str]) -> StageReach:
    entered: dict[str, dict[str, int]] = defaultdict(dict)
    for stage_id, status, n in session.execute(
            select(DealStageEvent.to_stage, Deal.status, func.count(distinct(Deal.id)))
            .join(Deal, Deal.id == DealStageEvent.deal_id)
            .where(*conditions, DealStageEvent.to_stage.in_(stage_ids))
            .group_by(DealStageEvent.to_stage, Deal.status)):
        entered[stage_id][status] = n
    left = dict(session.execute(
        select(DealStageEvent.from_stage, func.count(distinct(DealStageEvent.deal_id)))
        .join(Deal, Deal.id == DealStageEvent.deal_id)
        .where(*conditions, DealStageEvent.from_stage.in_(stage_ids), DealStageEvent.kind.in_(LEFT_KINDS))
        .group_by(DealStageEvent.from_stage)).tuples().all())
    return StageReach(dict(entered), left)


@dataclass(frozen=True)
class Stays:
    """Per stage: completed stays (an event into the stage followed by the deal's next event) and their total."""

    count: dict[str, int]
    seconds: dict[str, float]

    def average_days(self, stage_id: str) -> float | None:
        n = self.count.get(stage_id, 0)
        return round(self.seconds[stage_id] / 86400 / n, 2) if n else None


def stays(*, session: Session, conditions: Sequence[ColumnElement[bool]]) -> Stays:
    """Dwell per stage: each event paired with the deal's next one (by time, then id) via LEAD."""
    nxt = func.lead(DealStageEvent.at).over(partition_by=DealStageEvent.deal_id,
                                            order_by=(DealStageEvent.at, DealStageEvent.id))
    pairs = (select(DealStageEvent.to_stage.label("stage"), DealStageEvent.at.label("at"), nxt.label("next_at"))
             .join(Deal, Deal.id == DealStageEvent.deal_id).where(*conditions).subquery())
    seconds = seconds_between(session, pairs.c.at, pairs.c.next_at)
    rows = session.execute(select(pairs.c.stage, func.count(), cast(func.sum(seconds), Float))
                           .where(pairs.c.next_at.is_not(None), pairs.c.stage.is_not(None), pairs.c.stage != "")
                           .group_by(pairs.c.stage)).all()
    return Stays({s: n for s, n, _t in rows}, {s: float(t or 0) for s, _n, t in rows})


def average_cycle(*, session: Session, conditions: Sequence[ColumnElement[bool]]) -> tuple[float | None, int]:
    """Average days from opening to winning over won deals matching the conditions, and how many."""
    seconds = seconds_between(session, Deal.opened_at, Deal.closed_at)
    n, total = session.execute(select(func.count(), cast(func.sum(seconds), Float)).where(
        *conditions, Deal.status == DealStatus.won, Deal.closed_at.is_not(None))).one()
    return (round(float(total or 0) / 86400 / n, 2) if n else None), int(n)
