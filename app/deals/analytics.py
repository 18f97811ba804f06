"""Pipeline analytics: funnel with sales holes, stage conversion, win rates, dwell time, sales
cycle, weighted forecast and targets. Money is Decimal; every figure carries its formula."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.deals import history_sql
from app.deals import process as process_service
from app.deals import service as deals_service
from app.deals.exceptions import InvalidDealInput, NotAllowed
from app.deals.models import CENTS, Deal, DealStatus, SalesTarget, TargetMetric
from app.deals.periods import Period, parse_period
from app.deals.schemas import TargetIn
from app.sop.schema import SopDefinition
from app.users.models import Role, User


@dataclass(frozen=True)
class Scope:
    """Which deals an analytic covers (always within what the user may see)."""

    process: SopDefinition
    team_id: int | None = None
    rep_id: int | None = None
    period: Period | None = None


def make_scope(*, session: Session, user: User, process_id: str | None = None, team_id: int | None = None,
               rep_id: int | None = None, period: str | None = None) -> Scope:
    """Resolve and check filters; another team's id answers 404 like a missing one."""
    if team_id is not None and user.role != Role.admin and team_id not in user.team_ids():
        from app.users.exceptions import TeamNotFound

        raise TeamNotFound(f"Team {team_id} does not exist or is not visible to you.")
    if user.role == Role.rep and rep_id not in (None, user.id):
        raise NotAllowed("A rep sees only their own pipeline; omit rep_id.")
    if process_id is None:
        used = session.scalars(select(Deal.process_id).where(deals_service.visible_filter(user)).distinct()).all()
        if len(used) != 1:
            raise InvalidDealInput(
                "Pass process_id: " + (f"your deals follow several processes ({', '.join(sorted(used))})."
                                       if used else "there are no deals yet to infer it from."))
        process_id = used[0]
    process, _ = process_service.get_process(session=session, process_id=process_id)
    return Scope(process=process, team_id=team_id, rep_id=rep_id, period=parse_period(period) if period else None)


def _conditions(user: User, scope: Scope) -> list[ColumnElement[bool]]:
    conditions = [deals_service.visible_filter(user), Deal.process_id == scope.process.id]
    if scope.team_id is not None:
        conditions.append(Deal.team_id == scope.team_id)
    if scope.rep_id is not None:
        conditions.append(Deal.owner_id == scope.rep_id)
    return conditions


def _money(minor: int | Decimal) -> Decimal:
    return (Decimal(minor) / CENTS).quantize(Decimal("0.01"))


# ---------------------------------------------------------------- targets


def set_target(*, session: Session, user: User, target_in: TargetIn) -> SalesTarget:
    """Create or replace a quota for a team or rep and period (managers for their teams, admins any)."""
    parse_period(target_in.period)
    if user.role not in (Role.admin, Role.manager):
        raise NotAllowed("Only managers and admins set targets.")
    if user.role == Role.manager and (target_in.team_id is None or target_in.team_id not in user.team_ids()):
        raise NotAllowed("Managers set targets for teams they lead; give team_id.")
    row = find_target(session=session, team_id=target_in.team_id, rep_id=target_in.rep_id,
                      period=target_in.period.upper(), metric=target_in.metric, currency=target_in.currency)
    if row is None:
        row = SalesTarget(team_id=target_in.team_id, rep_id=target_in.rep_id, period=target_in.period.upper(),
                          metric=target_in.metric, currency=target_in.currency, value_minor=0)
        session.add(row)
    row.value_minor = deals_service.to_minor(target_in.value)
    session.flush()
    return row


def find_target(*, session: Session, team_id: int | None, rep_id: int | None, period: str,
                metric: str = TargetMetric.revenue, currency: str | None = None) -> SalesTarget | None:
    query = select(SalesTarget).where(
        SalesTarget.team_id.is_(None) if team_id is None else SalesTarget.team_id == team_id,
        SalesTarget.rep_id.is_(None) if rep_id is None else SalesTarget.rep_id == rep_id,
        SalesTarget.period == period.upper(), SalesTarget.metric == metric,
    )
    if currency:
        query = query.where(SalesTarget.currency == currency)
    return session.scalar(query.limit(1))


def scope_target(*, session: Session, scope: Scope, period: str, currency: str | None = None) -> SalesTarget | None:
    """The quota an analytic compares with: the scope's own, or for a rep asked about without a team,
    the rep's quota whichever team it was set in (managers always set rep quotas within a team)."""
    row = find_target(session=session, team_id=scope.team_id, rep_id=scope.rep_id, period=period, currency=currency)
    if row is not None or scope.rep_id is None or scope.team_id is not None:
        return row
    query = select(SalesTarget).where(SalesTarget.rep_id == scope.rep_id, SalesTarget.period == period.upper(),
                                      SalesTarget.metric == TargetMetric.revenue)
    if currency:
        query = query.where(SalesTarget.currency == currency)
    return session.scalar(query.order_by(SalesTarget.id).limit(1))


def list_targets(*, session: Session, user: User, period: str | None = None) -> list[SalesTarget]:
    query = select(SalesTarget)
    if user.role != Role.admin:
        query = query.where(SalesTarget.team_id.in_(user.team_ids()) | (SalesTarget.rep_id == user.id))
    if period:
        query = query.where(SalesTarget.period == period.upper())
    return list(session.scalars(query.order_by(SalesTarget.period, SalesTarget.id)))


# ---------------------------------------------------------------- funnel


@dataclass(frozen=True)
class FunnelStage:
    stage_id: str
    name: str
    deals: int
    amount: Decimal
    win_probability: Decimal
    needed_deals: int | None
    hole: bool
    widens: bool
    formula: str


@dataclass(frozen=True)
class Funnel:
    process_id: str
    stages: list[FunnelStage]
    currency_note: str
    next_period: str | None
    next_target: Decimal | None
    average_deal: Decimal | None
    formula: str


def funnel(*, session: Session, user: User, scope: Scope) -> Funnel:
    """Open deals per stage now; a stage is a "sales hole" when it holds fewer deals than the target
    of the period after scope.period (default: this quarter) needs from it:
    needed = ceil(target / (average deal × stage win probability))."""
    conditions = _conditions(user, scope) + [Deal.status == DealStatus.open]
    rows = session.execute(select(Deal.stage_id, func.count(), func.sum(Deal.amount_minor), Deal.currency)
                           .where(*conditions).group_by(Deal.stage_id, Deal.currency)).all()
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, int] = defaultdict(int)
    for stage_id, n, total, _currency in rows:
        counts[stage_id] += n
        amounts[stage_id] += int(total or 0)
    currencies = sorted({r[3] for r in rows})
    next_period, target = _next_target(session=session, scope=scope)
    avg = _average_deal(session=session, user=user, scope=scope)
    stages, previous = [], None
    for stage in scope.process.stages:
        p = process_service.probability(stage)
        needed = math.ceil(target / (avg * p)) if target and avg and p > 0 else None
        n = counts.get(stage.id, 0)
        formula = (f"needed = ceil({target} / ({avg} × {p})) = {needed}" if needed is not None
                   else "needed: no target for next period, no average deal or no win probability")
        stages.append(FunnelStage(stage.id, stage.name, n, _money(amounts.get(stage.id, 0)), p, needed,
                                  needed is not None and n < needed, previous is not None and n > previous, formula))
        previous = n
    note = "mixed currencies summed: " + ", ".join(currencies) if len(currencies) > 1 else (currencies or [""])[0]
    return Funnel(scope.process.id, stages, note, next_period, target, avg,
                  "deals = open deals in the stage; amount = Σ amount; hole when deals < needed; "
                  "widens when a stage holds more deals than the stage before it")


def _next_target(*, session: Session, scope: Scope) -> tuple[str | None, Decimal | None]:
    base = scope.period or parse_period(f"{utcnow().year}-Q{(utcnow().month - 1) // 3 + 1}")
    nxt = base.next()
    row = scope_target(session=session, scope=scope, period=nxt.label)
    return nxt.label, (row.value if row else None)


def _average_deal(*, session: Session, user: User, scope: Scope) -> Decimal | None:
    """Average amount of won deals in scope, else of open deals (the best guess of a future win)."""
    rows = session.execute(select(Deal.status, func.count(), func.sum(Deal.amount_minor))
                           .where(*_conditions(user, scope), Deal.status.in_([DealStatus.won, DealStatus.open]))
                           .group_by(Deal.status)).all()
    found = {status: (n, total) for status, n, total in rows}
    for status in (DealStatus.won, DealStatus.open):
        n, total = found.get(status, (0, 0))
        if n:
            return _money(Decimal(int(total or 0)) / n)
    return None


# ---------------------------------------------------------------- forecast


@dataclass(frozen=True)
class ForecastLine:
    stage_id: str
    currency: str
    deals: int
    amount: Decimal
    win_probability: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class ForecastTotal:
    currency: str
    weighted: Decimal
    won: Decimal
    target: Decimal | None
    gap: Decimal | None
    formula: str


@dataclass(frozen=True)
class Forecast:
    process_id: str
    period: str | None
    lines: list[ForecastLine]
    totals: list[ForecastTotal]
    undated_open_deals: int
    formula: str = "weighted = Σ over open deals of amount × stage win_probability; gap = target − (won + weighted)"


def forecast(*, session: Session, user: User, scope: Scope) -> Forecast:
    """Weighted forecast of open deals expected to close in the period, against the target."""
    base = _conditions(user, scope)
    open_ = base + [Deal.status == DealStatus.open]
    undated = 0
    if scope.period is not None:
        undated = session.scalar(select(func.count()).select_from(Deal)
                                 .where(*open_, Deal.expected_close_date.is_(None))) or 0
        open_ += [Deal.expected_close_date >= scope.period.start, Deal.expected_close_date < scope.period.end]
    rows = session.execute(select(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.amount_minor))
                           .where(*open_).group_by(Deal.stage_id, Deal.currency)).all()
    order = {s.id: i for i, s in enumerate(scope.process.stages)}
    lines = []
    for stage_id, currency, n, total in sorted(rows, key=lambda r: (order.get(r[0], 99), r[1])):
        stage = process_service.match_stage(scope.process, stage_id)
        p = process_service.probability(stage) if stage else Decimal(0)
        amount = _money(int(total or 0))
        lines.append(ForecastLine(stage_id, currency, n, amount, p, (amount * p).quantize(Decimal("0.01"))))
    won = _won_in_period(session=session, conditions=base, period=scope.period)
    totals = [_total(session=session, scope=scope, currency=c, lines=lines, won=won.get(c, Decimal(0)))
              for c in sorted({line.currency for line in lines} | set(won))]
    return Forecast(scope.process.id, scope.period.label if scope.period else None, lines, totals, undated)


def _won_in_period(*, session: Session, conditions: list[ColumnElement[bool]], period: Period | None) -> dict[str, Decimal]:
    if period is None:
        return {}
    rows = session.execute(select(Deal.currency, func.sum(Deal.amount_minor)).where(
        *conditions, Deal.status == DealStatus.won, Deal.closed_at >= period.start_at, Deal.closed_at < period.end_at,
    ).group_by(Deal.currency)).all()
    return {c: _money(int(t or 0)) for c, t in rows}


def _total(*, session: Session, scope: Scope, currency: str, lines: list[ForecastLine], won: Decimal) -> ForecastTotal:
    weighted = sum((line.weighted for line in lines if line.currency == currency), Decimal("0.00"))
    target_row = (scope_target(session=session, scope=scope, period=scope.period.label, currency=currency)
                  if scope.period else None)
    target = target_row.value if target_row else None
    gap = (target - won - weighted) if target is not None else None
    terms = " + ".join(f"{line.amount} × {line.win_probability}" for line in lines if line.currency == currency)
    formula = f"weighted = {terms or '0'} = {weighted}" + (f"; gap = {target} − ({won} + {weighted}) = {gap}"
                                                            if gap is not None else "; no target set for the period")
    return ForecastTotal(currency, weighted, won, target, gap, formula)


# ---------------------------------------------------------------- conversion and velocity


@dataclass(frozen=True)
class Transition:
    from_stage: str
    to_stage: str
    entered: int
    advanced: int
    rate: float | None
    weakest: bool
    formula: str


@dataclass(frozen=True)
class Conversion:
    process_id: str
    transitions: list[Transition]
    weakest: str | None
    formula: str = ("rate(A→B) = deals that advanced out of A / deals that ever entered A "
                    "(cohort: deals opened in the period when one is given; deals still open in A count as not yet advanced)")


def _cohort(user: User, scope: Scope) -> list[ColumnElement[bool]]:
    conditions = _conditions(user, scope)
    if scope.period is not None:
        conditions += [Deal.opened_at >= scope.period.start_at, Deal.opened_at < scope.period.end_at]
    return conditions


def conversion(*, session: Session, user: User, scope: Scope, min_sample: int = 5) -> Conversion:
    """Conversion between consecutive stages (and last stage → won); the lowest rate with at least
    min_sample entries is flagged as the weakest transition."""
    ids = [s.id for s in scope.process.stages]
    reach = history_sql.stage_reach(session=session, conditions=_cohort(user, scope), stage_ids=ids)
    entered = {stage_id: reach.entered_total(stage_id) for stage_id in reach.entered}
    advanced = reach.left
    pairs = list(zip(ids, ids[1:] + [process_service.WON]))
    rates = {a: (advanced.get(a, 0) / entered[a]) if entered.get(a) else None for a, _ in pairs}
    eligible = {a: r for a, r in rates.items() if r is not None and entered.get(a, 0) >= min_sample}
    weakest = min(eligible, key=lambda a: eligible[a]) if eligible else None
    transitions = [Transition(a, b, entered.get(a, 0), advanced.get(a, 0), rates[a], a == weakest,
                              f"{advanced.get(a, 0)} / {entered.get(a, 0)}" + (f" = {rates[a]:.1%}" if rates[a] is not None else ""))
                   for a, b in pairs]
    label = next((f"{t.from_stage} → {t.to_stage}" for t in transitions if t.weakest), None)
    return Conversion(scope.process.id, transitions, label)


@dataclass(frozen=True)
class StageVelocity:
    stage_id: str
    configured_win_probability: Decimal
    ever_in_stage: int
    won: int
    lost: int
    observed_win_rate: float | None
    win_rate_formula: str
    expected_days: float | None
    average_dwell_days: float | None
    dwell_sample: int


@dataclass(frozen=True)
class Velocity:
    process_id: str
    stages: list[StageVelocity]
    average_cycle_days: float | None
    cycle_sample: int
    cycle_formula: str = "average over won deals of (closed_at − opened_at) in days"
    dwell_formula: str = "average over completed stays of (time the deal left the stage − time it entered)"


def velocity(*, session: Session, user: User, scope: Scope, now: datetime | None = None) -> Velocity:
    """Observed win rate per stage next to the configured probability, dwell time and sales cycle."""
    conditions = _cohort(user, scope)
    stage_ids = [s.id for s in scope.process.stages]
    reach = history_sql.stage_reach(session=session, conditions=conditions, stage_ids=stage_ids)
    dwell = history_sql.stays(session=session, conditions=conditions, stage_ids=stage_ids)
    stages = [_stage_velocity(stage, reach.entered.get(stage.id, {}), dwell.count.get(stage.id, 0),
                              dwell.average_days(stage.id)) for stage in scope.process.stages]
    cycle, sample = average_cycle(session=session, conditions=conditions)
    return Velocity(scope.process.id, stages, cycle, sample)


def _stage_velocity(stage: Any, counts: dict[str, int], stays: int, average_dwell: float | None) -> StageVelocity:
    won, lost = counts.get(DealStatus.won, 0), counts.get(DealStatus.lost, 0)
    ever = sum(counts.values())
    rate = won / (won + lost) if won + lost else None
    return StageVelocity(
        stage.id, process_service.probability(stage), ever, won, lost, rate,
        f"won / (won + lost) among deals ever in the stage = {won} / {won + lost}", stage.expected_days,
        average_dwell, stays)


def average_cycle(*, session: Session, conditions: list[ColumnElement[bool]]) -> tuple[float | None, int]:
    """Average days from opening to winning over won deals in scope."""
    return history_sql.average_cycle(session=session, conditions=conditions)
