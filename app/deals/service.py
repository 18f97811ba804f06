"""Accounts, contacts and deals: create, read, list, update within the caller's permissions; calls
linked to deals and a call's outcome. Services add and flush; the edge commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from app.calls import service as calls_service
from app.calls.models import Call, CallStatus
from app.db import aware, utcnow
from app.deals import process as process_service
from app.deals import stage_summary
from app.deals.exceptions import (
    AccountNotFound,
    DealNotFound,
    DuplicateExternalRef,
    InvalidDealInput,
    NotAllowed,
)
from app.deals.models import (
    CENTS,
    Account,
    Contact,
    Deal,
    DealActivity,
    DealCall,
    DealStageEvent,
    DealStatus,
    EventKind,
)
from app.deals.outcomes import CallOutcome, Outcome, outcome_from_events
from app.deals.schemas import AccountCreate, AccountUpdate, ContactCreate, DealCreate
from app.sop.schema import SopDefinition
from app.users import service as users_service
from app.users.models import Role, TeamRelation, User

__all__ = ["CallOutcome", "Outcome", "call_outcome", "explain_call_outcome"]

# A stage the deal entered this soon after a call counts as one the call worked on (stages_at_call).
STAGE_FOLLOW_UP = timedelta(days=2)


def to_minor(amount: Decimal) -> int:
    return int((amount * CENTS).to_integral_value())


# ---------------------------------------------------------------- permissions


def visible_filter(user: User) -> ColumnElement[bool]:
    """Deals a user may see: admins all; managers their led teams; trainers served teams; reps own."""
    if user.role == Role.admin:
        return true()
    if user.role == Role.rep:
        return Deal.owner_id == user.id
    relation = TeamRelation.manager if user.role == Role.manager else TeamRelation.trainer
    team_ids = user.team_ids(relation)
    return Deal.team_id.in_(team_ids) if team_ids else false()


def can_edit(user: User, deal: Deal) -> bool:
    """Owners, managers of the deal's team and admins change deals; trainers only read."""
    if user.role == Role.admin:
        return True
    if user.role == Role.manager:
        return deal.team_id in user.team_ids(TeamRelation.manager)
    return user.role == Role.rep and deal.owner_id == user.id


def require_edit(user: User, deal: Deal) -> None:
    if not can_edit(user, deal):
        raise NotAllowed(f"You may read deal {deal.id} but not change it (owner, team manager or admin only).")


def account_visible_filter(user: User) -> ColumnElement[bool]:
    """Accounts of the user's teams, owned by them, or carrying a deal they may see."""
    if user.role == Role.admin:
        return true()
    teams = user.team_ids()
    has_deal = exists(select(Deal.id).where(Deal.account_id == Account.id, visible_filter(user)))
    return or_(Account.team_id.in_(teams) if teams else false(), Account.owner_id == user.id, has_deal)


# ---------------------------------------------------------------- accounts and contacts


def create_account(*, session: Session, user: User, account_in: AccountCreate) -> Account:
    """A new account; its team defaults to the caller's first team."""
    _check_unique_ref(session, Account, account_in.external_ref)
    team_id = account_in.team_id if account_in.team_id is not None else _first_team(user)
    if user.role != Role.admin and team_id is not None and team_id not in user.team_ids():
        raise NotAllowed(f"Create accounts only in your own teams; team {team_id} is not one of them.")
    account = Account(**account_in.model_dump(exclude={"team_id", "owner_id"}), team_id=team_id,
                      owner_id=account_in.owner_id or user.id)
    session.add(account)
    session.flush()
    return account


def get_account(*, session: Session, account_id: int, user: User | None = None) -> Account:
    query = select(Account).where(Account.id == account_id)
    if user is not None:
        query = query.where(account_visible_filter(user))
    account = session.scalar(query)
    if account is None:
        raise AccountNotFound(f"Account {account_id} does not exist or is not visible to you.")
    return account


def list_accounts(
    *, session: Session, user: User, offset: int, limit: int, q: str | None = None
) -> tuple[list[Account], int]:
    conditions = [account_visible_filter(user)]
    if q:
        conditions.append(Account.name.contains(q))
    total = session.scalar(select(func.count()).select_from(Account).where(*conditions)) or 0
    rows = session.scalars(select(Account).where(*conditions).order_by(Account.id).offset(offset).limit(limit))
    return list(rows), total


def update_account(*, session: Session, account: Account, account_in: AccountUpdate) -> Account:
    for key, value in account_in.model_dump(exclude_unset=True).items():
        setattr(account, key, value)
    session.flush()
    return account


def find_or_create_account(*, session: Session, user: User, name: str, team_id: int | None) -> Account:
    """The account of this name in the team, created when absent (CSV import, lead conversion)."""
    found = session.scalar(select(Account).where(Account.name == name, Account.team_id == team_id).limit(1))
    if found is not None:
        return found
    account = Account(name=name, team_id=team_id, owner_id=user.id)
    session.add(account)
    session.flush()
    return account


def add_contact(*, session: Session, account: Account, contact_in: ContactCreate) -> Contact:
    contact = Contact(account_id=account.id, **contact_in.model_dump())
    session.add(contact)
    session.flush()
    return contact


def list_contacts(*, session: Session, account: Account) -> list[Contact]:
    return list(session.scalars(select(Contact).where(Contact.account_id == account.id).order_by(Contact.id)))


# ---------------------------------------------------------------- deals


def create_deal(
    *, session: Session, user: User, deal_in: DealCreate, now: datetime | None = None
) -> Deal:
    """A deal in its process's first stage, with a 'created' event in its history."""
    now = now or utcnow()
    if user.role == Role.trainer:
        raise NotAllowed("Trainers read deals but do not create them.")
    process, version = process_service.get_process(session=session, process_id=deal_in.process_id)
    owner = _owner_for(session=session, user=user, owner_id=deal_in.owner_id)
    team_id = _team_for(user=user, owner=owner, team_id=deal_in.team_id)
    account = _account_for(session=session, user=user, deal_in=deal_in, team_id=team_id)
    _check_unique_ref(session, Deal, deal_in.external_ref)
    check_feedback_keys(process, deal_in.feedback)
    deal = Deal(
        external_ref=deal_in.external_ref, name=deal_in.name, account_id=account.id, owner_id=owner.id,
        team_id=team_id, process_id=process.id, process_version=version, stage_id=process.stages[0].id,
        stage_entered_at=now, amount_minor=to_minor(deal_in.amount), currency=deal_in.currency,
        expected_close_date=deal_in.expected_close_date, status=DealStatus.open, source=deal_in.source,
        opened_at=now, feedback=dict(deal_in.feedback), last_activity_at=now,
        existing_account=account.customer_since is not None and account.customer_since <= now.date(),
    )
    session.add(deal)
    session.flush()
    record_event(session=session, deal=deal, kind=EventKind.created, from_stage=None,
                 to_stage=deal.stage_id, by=user, at=now, reason=f"created (source: {deal.source})")
    return deal


def _owner_for(*, session: Session, user: User, owner_id: int | None) -> User:
    if owner_id is None or owner_id == user.id:
        return user
    if user.role == Role.rep:
        raise NotAllowed("A rep creates deals only for themselves; omit owner_id.")
    owner = users_service.get_user(session=session, user_id=owner_id)
    if user.role == Role.manager and not owner.team_ids(TeamRelation.member) & user.team_ids(TeamRelation.manager):
        raise NotAllowed(f"User {owner_id} is not a member of a team you lead.")
    if user.role == Role.trainer:
        raise NotAllowed("Trainers do not own or assign deals.")
    return owner


def _team_for(*, user: User, owner: User, team_id: int | None) -> int | None:
    team_id = team_id if team_id is not None else _first_team(owner)
    if user.role == Role.manager and team_id not in user.team_ids(TeamRelation.manager):
        raise NotAllowed("Managers create deals only in teams they lead; set team_id to one of them.")
    if user.role == Role.rep and team_id is not None and team_id not in user.team_ids():
        raise NotAllowed(f"Team {team_id} is not one of your teams.")
    return team_id


def _first_team(user: User) -> int | None:
    ids = sorted(user.team_ids(TeamRelation.member)) or sorted(user.team_ids())
    return ids[0] if ids else None


def _account_for(*, session: Session, user: User, deal_in: DealCreate, team_id: int | None) -> Account:
    if deal_in.account_id is not None:
        return get_account(session=session, account_id=deal_in.account_id, user=user)
    if not deal_in.account_name:
        raise InvalidDealInput("Give account_id (an existing account) or account_name (found or created).")
    return find_or_create_account(session=session, user=user, name=deal_in.account_name, team_id=team_id)


def _check_unique_ref(session: Session, model: type[Account | Deal], ref: str | None) -> None:
    if ref and session.scalar(select(model.id).where(model.external_ref == ref)):
        kind = model.__tablename__
        raise DuplicateExternalRef(f"A {kind} with external_ref {ref!r} already exists; external ids are unique.")


def allowed_feedback(process: SopDefinition) -> list[str]:
    """Every feedback field any stage of the process asks for, in stage order."""
    names: list[str] = []
    for stage in process.stages:
        names += [n for n in stage.required_feedback if n not in names]
    return names


def check_feedback_keys(process: SopDefinition, feedback: dict[str, Any]) -> None:
    unknown = sorted(set(feedback) - set(allowed_feedback(process)))
    if unknown:
        raise InvalidDealInput(
            f"Unknown feedback field(s) {', '.join(unknown)} for process {process.id!r}; "
            f"known fields: {', '.join(allowed_feedback(process))}."
        )


def is_filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return not (isinstance(value, (list, dict)) and not value)


def get_deal(*, session: Session, deal_id: int, user: User | None = None) -> Deal:
    """A deal the user may see; 404 otherwise (never reveal that it exists)."""
    query = select(Deal).where(Deal.id == deal_id)
    if user is not None:
        query = query.where(visible_filter(user))
    deal = session.scalar(query)
    if deal is None:
        raise DealNotFound(f"Deal {deal_id} does not exist or is not visible to you.")
    return deal


def list_deals(*, session: Session, user: User, offset: int, limit: int, **filters: Any) -> tuple[list[Deal], int]:
    """Visible deals, filtered by any of status, stage_id, team_id, owner_id, process_id, account_id."""
    conditions = [visible_filter(user)]
    conditions += [getattr(Deal, key) == value for key, value in filters.items() if value is not None]
    total = session.scalar(select(func.count()).select_from(Deal).where(*conditions)) or 0
    rows = session.scalars(select(Deal).where(*conditions).order_by(Deal.id).offset(offset).limit(limit))
    return list(rows), total


def delete_deal(*, session: Session, user: User, deal: Deal) -> None:
    if user.role not in (Role.admin, Role.manager) or not can_edit(user, deal):
        raise NotAllowed("Only the team's manager or an admin deletes deals; reps mark them lost or invalid.")
    session.delete(deal)
    session.flush()


def record_event(
    *, session: Session, deal: Deal, kind: EventKind, from_stage: str | None, to_stage: str | None,
    by: User | None, at: datetime, reason: str = "", approval_id: int | None = None,
) -> DealStageEvent:
    event = DealStageEvent(deal_id=deal.id, kind=kind, from_stage=from_stage, to_stage=to_stage,
                           by_id=by.id if by else None, at=at, reason=reason, approval_id=approval_id)
    session.add(event)
    deal.last_activity_at = max(aware(deal.last_activity_at), at) if deal.last_activity_at else at
    session.flush()
    # The summary the analytics read changes in the same transaction as the history it summarises.
    stage_summary.rebuild(session=session, deal=deal)
    if kind == EventKind.advanced and to_stage:
        # Calls just before a stage move worked on that stage too (stages_at_call): match them again.
        recent = [c for c in list_calls(session=session, deal=deal)
                  if at - STAGE_FOLLOW_UP <= aware(c.occurred_at or c.created_at) < at]
        rematch_stage_calls(session=session, calls=recent)
    return event


def rematch_stage_calls(*, session: Session, calls: Sequence[Call]) -> int:
    """Queue a re-match of the ready calls among these whose stages come from their deal (a
    process SOP's calls uploaded without stages); returns how many were queued."""
    from app import jobs
    from app.sop import service as sop_service
    from app.sop.schema import SopKind

    queued = 0
    for call in calls:
        if call.status != CallStatus.ready or call.sop_stages:
            continue
        row = sop_service.sop_for_call(session=session, call=call)
        if row is not None and row.kind == SopKind.PROCESS:
            jobs.enqueue(session, "sop.rematch", call_id=call.id)
            queued += 1
    return queued


def record_activity(*, session: Session, deal: Deal, kind: str, by: User | None, at: datetime,
                    detail: dict[str, Any]) -> DealActivity:
    activity = DealActivity(deal_id=deal.id, kind=kind, by_id=by.id if by else None, at=at, detail=detail)
    session.add(activity)
    deal.last_activity_at = max(aware(deal.last_activity_at), at) if deal.last_activity_at else at
    session.flush()
    return activity


def history(*, session: Session, deal: Deal) -> list[DealStageEvent]:
    return list(session.scalars(
        select(DealStageEvent).where(DealStageEvent.deal_id == deal.id).order_by(DealStageEvent.at, DealStageEvent.id)
    ))


# ---------------------------------------------------------------- calls


def link_call(*, session: Session, user: User, deal: Deal, call_id: int, now: datetime | None = None) -> Call:
    """Link a call the user may see to a deal they may change (moves it from any earlier deal)."""
    require_edit(user, deal)
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    link = session.get(DealCall, call.id)
    if link is None:
        session.add(DealCall(call_id=call.id, deal_id=deal.id, linked_by_id=user.id, linked_at=now or utcnow()))
    else:
        link.deal_id, link.linked_by_id = deal.id, user.id
    at = aware(call.occurred_at or call.created_at)
    record_activity(session=session, deal=deal, kind="call", by=user, at=at, detail={"call_id": call.id})
    rematch_stage_calls(session=session, calls=[call])  # its stages now come from this deal
    return call


def deal_calls_filter(deal: Deal) -> ColumnElement[bool]:
    """Calls of a deal: linked explicitly, or uploaded with the deal's external id."""
    linked = Call.id.in_(select(DealCall.call_id).where(DealCall.deal_id == deal.id))
    if deal.external_ref:
        unlinked = ~Call.id.in_(select(DealCall.call_id))
        return or_(linked, (Call.external_deal_id == deal.external_ref) & unlinked)
    return linked


def list_calls(*, session: Session, deal: Deal) -> list[Call]:
    return list(session.scalars(select(Call).where(deal_calls_filter(deal)).order_by(Call.occurred_at, Call.id)))


def deal_for_call(*, session: Session, call: Call) -> Deal | None:
    """The deal a call belongs to: its explicit link, else the deal whose external_ref it carries."""
    link = session.get(DealCall, call.id)
    if link is not None:
        return session.get(Deal, link.deal_id)
    if call.external_deal_id:
        return session.scalar(select(Deal).where(Deal.external_ref == call.external_deal_id))
    return None


def explain_call_outcome(
    *, session: Session, call: Call, now: datetime | None = None, horizon_days: float | None = None
) -> CallOutcome:
    """What happened to the call's deal after the call, with the event behind the answer."""
    deal = deal_for_call(session=session, call=call)
    at = aware(call.occurred_at or call.created_at)
    if deal is None:
        return CallOutcome(Outcome.unlinked, None, at, None, None, "the call is linked to no deal")
    if horizon_days is None:
        horizon_days = _stage_days_at(session=session, deal=deal, at=at)
    events = [e for e in history(session=session, deal=deal) if aware(e.at) > at]
    return outcome_from_events(deal_id=deal.id, call_at=at, events=events, now=now or utcnow(),
                               horizon=timedelta(days=horizon_days), deal_open=deal.status == DealStatus.open)


def call_outcome(*, session: Session, call: Call, now: datetime | None = None) -> Outcome:
    """advanced | stalled | won | lost (| pending while the window is open, unlinked without a deal)."""
    return explain_call_outcome(session=session, call=call, now=now).outcome


def _stage_at(deal: Deal, events: Sequence[DealStageEvent], at: datetime) -> str:
    """The stage the deal was in at a moment (its first stage before it was created)."""
    stage_id = next((e.to_stage for e in events if e.to_stage), deal.stage_id)
    for event in events:
        if aware(event.at) <= at and event.to_stage:
            stage_id = event.to_stage
    return stage_id


def stages_at_call(*, session: Session, deal: Deal, at: datetime) -> list[str]:
    """The stages a call at `at` worked on, as the deal's history tells: the stage it was in, then
    any stage it entered within STAGE_FOLLOW_UP after (the rep moved it on after that meeting)."""
    events = history(session=session, deal=deal)
    stages = [_stage_at(deal, events, at)]
    for event in events:
        if at < aware(event.at) <= at + STAGE_FOLLOW_UP and event.to_stage and event.to_stage not in stages:
            stages.append(event.to_stage)
    return stages


def _stage_days_at(*, session: Session, deal: Deal, at: datetime) -> float:
    """The expected_days of the stage the deal was in at a moment (default 30)."""
    stage_id = _stage_at(deal, history(session=session, deal=deal), at)
    process, _ = process_service.get_process(session=session, process_id=deal.process_id,
                                             version=deal.process_version)
    stage = process_service.match_stage(process, stage_id)
    return float(stage.expected_days) if stage and stage.expected_days else 30.0
