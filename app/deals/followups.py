"""Follow-up discipline: the 1-15-30 rule, stage and cycle reminders, effective new customers
and the new-vs-existing activity share (80/20). Dates come in as `now` so tests control them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.calls.models import Call
from app.db import utcnow
from app.deals import analytics
from app.deals import process as process_service
from app.deals import service as deals_service
from app.deals.exceptions import NotAllowed
from app.deals.models import Deal, DealActivity, DealIntent, DealStageEvent, DealStatus, TargetMetric
from app.deals.periods import Period, parse_period, week_of
from app.users import service as users_service
from app.users.exceptions import UserNotFound
from app.users.models import Role, TeamRelation, User

FOLLOW_UP_DAYS = 15
PROGRESS_DAYS = 30
DEFAULT_EFFECTIVE_PER_WEEK = Decimal(5)
DEFAULT_NEW_SHARE = 0.8

aware = deals_service.aware


def check_rep(*, session: Session, user: User, rep_id: int | None) -> User:
    """The rep whose lists are asked for: reps only themselves; managers their teams' reps (404 otherwise)."""
    if rep_id is None or rep_id == user.id:
        return user
    if user.role == Role.rep:
        raise NotAllowed("A rep sees only their own follow-up lists; omit rep_id.")
    rep = users_service.get_user(session=session, user_id=rep_id)
    if user.role != Role.admin and not rep.team_ids(TeamRelation.member) & user.team_ids(TeamRelation.manager, TeamRelation.trainer):
        raise UserNotFound(f"User {rep_id} does not exist or is not in a team you lead.")
    return rep


def _open_deals(session: Session, rep: User) -> list[Deal]:
    return list(session.scalars(select(Deal).where(Deal.owner_id == rep.id, Deal.status == DealStatus.open)
                                .order_by(Deal.id)))


def _calls(session: Session, deal: Deal) -> list[Call]:
    return list(session.scalars(select(Call).where(deals_service.deal_calls_filter(deal))))


def _call_at(call: Call) -> datetime:
    return aware(call.occurred_at or call.created_at)


def last_followup(session: Session, deal: Deal) -> datetime:
    """The latest touch: a stage change, feedback, note, intent, or a call of the deal."""
    times = [aware(deal.last_activity_at), aware(deal.opened_at)] + [_call_at(c) for c in _calls(session, deal)]
    return max(times)


def last_progress(session: Session, deal: Deal) -> datetime:
    """The start of the 30-day clock: entering the current stage, or the latest intent judgment."""
    intent_at = session.scalar(select(func.max(DealIntent.at)).where(DealIntent.deal_id == deal.id))
    times = [aware(deal.stage_entered_at)] + ([aware(intent_at)] if intent_at else [])
    return max(times)


# ---------------------------------------------------------------- 1: weekly review


@dataclass(frozen=True)
class ReviewItem:
    deal_id: int
    name: str
    stage_id: str
    calls: list[int]
    stage_changes: list[str]
    activities: list[str]
    last_followup_at: datetime
    days_since_followup: int
    flags: list[str]


@dataclass(frozen=True)
class WeeklyReview:
    rep_id: int
    week: str
    items: list[ReviewItem]
    rule: str = ("1: every open deal reviewed weekly; 15: flagged after 15 days without follow-up; "
                 "30: after 30 days without progress the rep records keep (with reason) or drop")


def weekly_review(*, session: Session, rep: User, week: Period | None = None, now: datetime | None = None) -> WeeklyReview:
    """Every open deal of the rep with what happened in the week, for the 1:1 review."""
    now = now or utcnow()
    week = week or week_of(now.date())
    items = [_review_item(session, deal, week, now) for deal in _open_deals(session, rep)]
    return WeeklyReview(rep.id, week.label, items)


def _review_item(session: Session, deal: Deal, week: Period, now: datetime) -> ReviewItem:
    in_week = lambda at: week.start_at <= aware(at) < week.end_at
    calls = [c.id for c in _calls(session, deal) if in_week(_call_at(c))]
    events = session.scalars(select(DealStageEvent).where(DealStageEvent.deal_id == deal.id)).all()
    changes = [f"{e.kind}: {e.from_stage or '-'} → {e.to_stage or '-'}" for e in events if in_week(e.at)]
    acts = session.scalars(select(DealActivity).where(DealActivity.deal_id == deal.id)).all()
    activities = [a.kind for a in acts if in_week(a.at) and a.kind != "call"]
    last = last_followup(session, deal)
    return ReviewItem(deal.id, deal.name, deal.stage_id, calls, changes, activities, last,
                      (now - last).days, _flags(session, deal, now, last))


def _flags(session: Session, deal: Deal, now: datetime, last: datetime) -> list[str]:
    flags = []
    if now - last >= timedelta(days=FOLLOW_UP_DAYS):
        flags.append(f"no_followup_{FOLLOW_UP_DAYS}d")
    if now - last_progress(session, deal) >= timedelta(days=PROGRESS_DAYS):
        flags.append("intent_required")
    return flags


# ---------------------------------------------------------------- 15 and 30


@dataclass(frozen=True)
class FlaggedDeal:
    deal_id: int
    name: str
    owner_id: int
    stage_id: str
    since: datetime
    days: int
    evidence: str


@dataclass(frozen=True)
class Board:
    no_followup: list[FlaggedDeal]
    intent_required: list[FlaggedDeal]
    rule: str = (f"no_followup: now − latest touch (call, stage change, feedback, note) ≥ {FOLLOW_UP_DAYS} days; "
                 f"intent_required: now − max(entered current stage, last intent) ≥ {PROGRESS_DAYS} days")


def board(*, session: Session, user: User, rep_id: int | None = None, now: datetime | None = None) -> Board:
    """Open deals past 15 days without follow-up and past 30 days without progress (until judged)."""
    now = now or utcnow()
    query = select(Deal).where(deals_service.visible_filter(user), Deal.status == DealStatus.open)
    if rep_id is not None:
        query = query.where(Deal.owner_id == check_rep(session=session, user=user, rep_id=rep_id).id)
    stale, judge = [], []
    for deal in session.scalars(query.order_by(Deal.id)):
        last, progress = last_followup(session, deal), last_progress(session, deal)
        if now - last >= timedelta(days=FOLLOW_UP_DAYS):
            stale.append(FlaggedDeal(deal.id, deal.name, deal.owner_id, deal.stage_id, last, (now - last).days,
                                     f"last touch {last:%Y-%m-%d}, {(now - last).days} days ago"))
        if now - progress >= timedelta(days=PROGRESS_DAYS):
            judge.append(FlaggedDeal(deal.id, deal.name, deal.owner_id, deal.stage_id, progress, (now - progress).days,
                                     f"in stage {deal.stage_id} without progress since {progress:%Y-%m-%d}; "
                                     "record POST /api/v1/deals/{id}/intent"))
    return Board(stale, judge)


# ---------------------------------------------------------------- reminders


@dataclass(frozen=True)
class Reminder:
    deal_id: int
    owner_id: int
    kind: str  # stage_overdue | cycle_overdue
    days: float
    limit_days: float
    evidence: str


def reminders(*, session: Session, user: User, now: datetime | None = None) -> list[Reminder]:
    """Open deals past their stage's expected_days or past the process's average sales cycle."""
    now = now or utcnow()
    found: list[Reminder] = []
    cycles: dict[str, float | None] = {}
    for deal in session.scalars(select(Deal).where(deals_service.visible_filter(user), Deal.status == DealStatus.open)
                                .order_by(Deal.id)):
        process, _ = process_service.get_process(session=session, process_id=deal.process_id, version=deal.process_version)
        stage = process_service.match_stage(process, deal.stage_id)
        in_stage = (now - aware(deal.stage_entered_at)).total_seconds() / 86400
        if stage and stage.expected_days is not None and in_stage > stage.expected_days:
            found.append(Reminder(deal.id, deal.owner_id, "stage_overdue", round(in_stage, 1), stage.expected_days,
                                  f"{in_stage:.1f} days in {stage.id} > expected {stage.expected_days:g}"))
        if deal.process_id not in cycles:
            cycles[deal.process_id], _n = analytics.average_cycle(
                session=session, conditions=[deals_service.visible_filter(user), Deal.process_id == deal.process_id])
        cycle, age = cycles[deal.process_id], (now - aware(deal.opened_at)).total_seconds() / 86400
        if cycle is not None and age > cycle:
            found.append(Reminder(deal.id, deal.owner_id, "cycle_overdue", round(age, 1), cycle,
                                  f"open {age:.1f} days > average won cycle {cycle:g} days"))
    return found


# ---------------------------------------------------------------- effective new customers, 80/20


@dataclass(frozen=True)
class EffectiveNew:
    rep_id: int
    period: str
    per_day: dict[str, int]
    total: int
    target_per_week: Decimal
    target_for_period: Decimal
    met: bool
    deal_ids: list[int] = field(default_factory=list)
    formula: str = ("effective = deal on a new account with need, budget and signer all confirmed, counted on the day "
                    "the last of the three was confirmed; target for period = target_per_week × days / 7")


def effective_new(*, session: Session, rep: User, period: Period, target_per_week: Decimal | None = None) -> EffectiveNew:
    """Effective new customers of a rep per day in the period, against the weekly target."""
    deals = session.scalars(select(Deal).where(
        Deal.owner_id == rep.id, Deal.existing_account.is_(False), Deal.effective_at >= period.start_at,
        Deal.effective_at < period.end_at).order_by(Deal.effective_at)).all()
    per_day: dict[str, int] = defaultdict(int)
    for deal in deals:
        per_day[aware(deal.effective_at).date().isoformat()] += 1  # type: ignore[arg-type]
    weekly = target_per_week if target_per_week is not None else _effective_target(session, rep, period)
    days = (period.end - period.start).days
    goal = (weekly * days / 7).quantize(Decimal("0.1"))
    return EffectiveNew(rep.id, period.label, dict(per_day), len(deals), weekly, goal, len(deals) >= goal,
                        [d.id for d in deals])


def _effective_target(session: Session, rep: User, period: Period) -> Decimal:
    """The rep's configured weekly target (rep, then team), else the default of 5."""
    start = period.start
    labels = [period.label, f"{start.year}-{start.month:02d}", f"{start.year}-Q{(start.month - 1) // 3 + 1}", str(start.year)]
    scopes = [(None, rep.id)] + [(team_id, None) for team_id in sorted(rep.team_ids(TeamRelation.member))]
    for team_id, rep_id in scopes:
        for label in labels:
            row = analytics.find_target(session=session, team_id=team_id, rep_id=rep_id, period=label,
                                        metric=TargetMetric.effective_new_customers)
            if row is not None:
                return row.value
    return DEFAULT_EFFECTIVE_PER_WEEK


@dataclass(frozen=True)
class ActivityMix:
    rep_id: int
    period: str
    new_accounts: int
    existing_accounts: int
    new_share: float | None
    target_new_share: float
    on_target: bool | None
    formula: str


def activity_mix(*, session: Session, rep: User, period: Period, target_new_share: float = DEFAULT_NEW_SHARE) -> ActivityMix:
    """Share of the rep's activity (calls, stage changes, feedback, notes) on new vs existing accounts."""
    counts = {True: 0, False: 0}
    for deal in session.scalars(select(Deal).where(Deal.owner_id == rep.id)):
        touches = [aware(e.at) for e in session.scalars(select(DealStageEvent).where(DealStageEvent.deal_id == deal.id))]
        touches += [aware(a.at) for a in session.scalars(select(DealActivity).where(
            DealActivity.deal_id == deal.id, DealActivity.kind != "call"))]
        touches += [_call_at(c) for c in _calls(session, deal)]
        counts[deal.existing_account] += sum(1 for t in touches if period.start_at <= t < period.end_at)
    new, existing = counts[False], counts[True]
    share = new / (new + existing) if new + existing else None
    return ActivityMix(rep.id, period.label, new, existing, share, target_new_share,
                       None if share is None else share >= target_new_share,
                       f"new share = activities on new accounts / all = {new} / {new + existing}")


def parse_or_current_week(text: str | None, now: datetime) -> Period:
    return parse_period(text) if text else week_of(now.date())
