"""Follow-up discipline: the 1-15-30 rule, stage and cycle reminders, effective new customers
and the new-vs-existing activity share (80/20). Dates come in as `now` so tests control them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from app.calls.models import Call
from app.db import aware, utcnow
from app.deals import analytics
from app.deals import process as process_service
from app.deals import service as deals_service
from app.deals.exceptions import NotAllowed
from app.deals.models import (
    Deal,
    DealActivity,
    DealCall,
    DealIntent,
    DealStageEvent,
    DealStatus,
    TargetMetric,
)
from app.deals.periods import Period, parse_period, week_of
from app.users import service as users_service
from app.users.exceptions import UserNotFound
from app.users.models import Role, TeamRelation, User

FOLLOW_UP_DAYS = 15
PROGRESS_DAYS = 30
DEFAULT_EFFECTIVE_PER_WEEK = Decimal(5)
DEFAULT_NEW_SHARE = 0.8


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


def _call_time() -> ColumnElement[datetime]:
    return func.coalesce(Call.occurred_at, Call.created_at)


def _deal_calls(deal_ids: Select[tuple[int]]) -> Select[tuple[int, int]]:
    """(deal id, call id) for the deals' calls: linked explicitly, or carrying the deal's external id while unlinked
    (the set form of deals_service.deal_calls_filter)."""
    linked = select(DealCall.deal_id, DealCall.call_id).where(DealCall.deal_id.in_(deal_ids))
    by_ref = (select(Deal.id, Call.id).join(Call, Call.external_deal_id == Deal.external_ref)
              .where(Deal.id.in_(deal_ids), Deal.external_ref.is_not(None), ~Call.id.in_(select(DealCall.call_id))))
    return linked.union_all(by_ref)


def _latest_call_at(session: Session, deal_ids: Select[tuple[int]]) -> dict[int, datetime]:
    pairs = _deal_calls(deal_ids).subquery()
    rows = session.execute(select(pairs.c.deal_id, func.max(_call_time())).join(Call, Call.id == pairs.c.call_id)
                           .group_by(pairs.c.deal_id)).all()
    return {deal_id: aware(at) for deal_id, at in rows if at is not None}


def _latest_intent_at(session: Session, deal_ids: Select[tuple[int]]) -> dict[int, datetime]:
    rows = session.execute(select(DealIntent.deal_id, func.max(DealIntent.at))
                           .where(DealIntent.deal_id.in_(deal_ids)).group_by(DealIntent.deal_id)).all()
    return {deal_id: aware(at) for deal_id, at in rows if at is not None}


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
    deals = _open_deals(session, rep)
    ids = select(Deal.id).where(Deal.owner_id == rep.id, Deal.status == DealStatus.open)
    in_week = lambda at: week.start_at <= aware(at) < week.end_at
    calls: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    pairs = _deal_calls(ids).subquery()
    for deal_id, call_id, at in session.execute(select(pairs.c.deal_id, Call.id, _call_time())
                                                .join(Call, Call.id == pairs.c.call_id).order_by(Call.id)):
        calls[deal_id].append((call_id, aware(at)))
    changes: dict[int, list[str]] = defaultdict(list)
    for e in session.scalars(select(DealStageEvent).where(DealStageEvent.deal_id.in_(ids))
                             .order_by(DealStageEvent.deal_id, DealStageEvent.id)):
        if in_week(e.at):
            changes[e.deal_id].append(f"{e.kind}: {e.from_stage or '-'} → {e.to_stage or '-'}")
    activities: dict[int, list[str]] = defaultdict(list)
    for deal_id, kind, at in session.execute(select(DealActivity.deal_id, DealActivity.kind, DealActivity.at)
                                             .where(DealActivity.deal_id.in_(ids)).order_by(DealActivity.id)):
        if in_week(at) and kind != "call":
            activities[deal_id].append(kind)
    intents = _latest_intent_at(session, ids)
    items = []
    for deal in deals:
        last = max([aware(deal.last_activity_at), aware(deal.opened_at)] + [at for _id, at in calls[deal.id]])
        flags = _flag_names(now, last, _progress(deal, intents.get(deal.id)))
        items.append(ReviewItem(deal.id, deal.name, deal.stage_id, [c for c, at in calls[deal.id] if in_week(at)],
                                changes[deal.id], activities[deal.id], last, (now - last).days, flags))
    return WeeklyReview(rep.id, week.label, items)


def _progress(deal: Deal, intent_at: datetime | None) -> datetime:
    return max([aware(deal.stage_entered_at)] + ([intent_at] if intent_at else []))


def _flag_names(now: datetime, last: datetime, progress: datetime) -> list[str]:
    flags = []
    if now - last >= timedelta(days=FOLLOW_UP_DAYS):
        flags.append(f"no_followup_{FOLLOW_UP_DAYS}d")
    if now - progress >= timedelta(days=PROGRESS_DAYS):
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
    ids = query.with_only_columns(Deal.id)
    calls, intents = _latest_call_at(session, ids), _latest_intent_at(session, ids)
    stale, judge = [], []
    rows = session.execute(query.with_only_columns(Deal.id, Deal.name, Deal.owner_id, Deal.stage_id,
                                                   Deal.last_activity_at, Deal.opened_at, Deal.stage_entered_at)
                           .order_by(Deal.id)).all()
    for deal_id, name, owner_id, stage_id, last_activity_at, opened_at, stage_entered_at in rows:
        last = max([aware(last_activity_at), aware(opened_at)] + ([calls[deal_id]] if deal_id in calls else []))
        progress = max([aware(stage_entered_at)] + ([intents[deal_id]] if deal_id in intents else []))
        if now - last >= timedelta(days=FOLLOW_UP_DAYS):
            stale.append(FlaggedDeal(deal_id, name, owner_id, stage_id, last, (now - last).days,
                                     f"last touch {last:%Y-%m-%d}, {(now - last).days} days ago"))
        if now - progress >= timedelta(days=PROGRESS_DAYS):
            judge.append(FlaggedDeal(deal_id, name, owner_id, stage_id, progress, (now - progress).days,
                                     f"in stage {stage_id} without progress since {progress:%Y-%m-%d}; "
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
    visible = [deals_service.visible_filter(user), Deal.status == DealStatus.open]
    # One process load and one average cycle per (process, version) in use, not per deal.
    processes = {(pid, ver): process_service.get_process(session=session, process_id=pid, version=ver)[0]
                 for pid, ver in session.execute(select(Deal.process_id, Deal.process_version)
                                                 .where(*visible).distinct()).all()}
    cycles = {pid: analytics.average_cycle(session=session, conditions=[deals_service.visible_filter(user),
                                                                        Deal.process_id == pid])[0]
              for pid in {pid for pid, _ver in processes}}
    rows = session.execute(select(Deal.id, Deal.owner_id, Deal.process_id, Deal.process_version, Deal.stage_id,
                                  Deal.stage_entered_at, Deal.opened_at).where(*visible).order_by(Deal.id)).all()
    for deal_id, owner_id, process_id, version, stage_id, entered_at, opened_at in rows:
        stage = process_service.match_stage(processes[(process_id, version)], stage_id)
        in_stage = (now - aware(entered_at)).total_seconds() / 86400
        if stage and stage.expected_days is not None and in_stage > stage.expected_days:
            found.append(Reminder(deal_id, owner_id, "stage_overdue", round(in_stage, 1), stage.expected_days,
                                  f"{in_stage:.1f} days in {stage.id} > expected {stage.expected_days:g}"))
        cycle, age = cycles[process_id], (now - aware(opened_at)).total_seconds() / 86400
        if cycle is not None and age > cycle:
            found.append(Reminder(deal_id, owner_id, "cycle_overdue", round(age, 1), cycle,
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
    ids = select(Deal.id).where(Deal.owner_id == rep.id)
    pairs = _deal_calls(ids).subquery()
    in_period = lambda at: (at >= period.start_at) & (at < period.end_at)
    touches = [
        select(Deal.existing_account, func.count()).join(DealStageEvent, DealStageEvent.deal_id == Deal.id)
        .where(Deal.owner_id == rep.id, in_period(DealStageEvent.at)),
        select(Deal.existing_account, func.count()).join(DealActivity, DealActivity.deal_id == Deal.id)
        .where(Deal.owner_id == rep.id, DealActivity.kind != "call", in_period(DealActivity.at)),
        select(Deal.existing_account, func.count()).join(pairs, pairs.c.deal_id == Deal.id)
        .join(Call, Call.id == pairs.c.call_id).where(in_period(_call_time())),
    ]
    for query in touches:
        for existing_account, n in session.execute(query.group_by(Deal.existing_account)).all():
            counts[bool(existing_account)] += n
    new, existing = counts[False], counts[True]
    share = new / (new + existing) if new + existing else None
    return ActivityMix(rep.id, period.label, new, existing, share, target_new_share,
                       None if share is None else share >= target_new_share,
                       f"new share = activities on new accounts / all = {new} / {new + existing}")


def parse_or_current_week(text: str | None, now: datetime) -> Period:
    return parse_period(text) if text else week_of(now.date())
