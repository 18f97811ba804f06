"""Moving a deal: feedback, advancing (with manager approval where the stage asks), closing,
and the rep's intent judgment. Every change lands in the stage history or the activity log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.deals import process as process_service
from app.deals import service as deals_service
from app.deals.exceptions import (
    ApprovalAlreadyDecided,
    ApprovalNotFound,
    ApprovalPending,
    DealClosed,
    InvalidDealInput,
    MissingFeedback,
    NotAllowed,
)
from app.deals.models import (
    ApprovalStatus,
    Deal,
    DealApproval,
    DealIntent,
    DealStatus,
    EventKind,
    IntentDecision,
)
from app.deals.schemas import DealUpdate
from app.sop.schema import Approval
from app.users.models import Role, TeamRelation, User


@dataclass(frozen=True)
class AdvanceOutcome:
    deal: Deal
    moved: bool
    approval: DealApproval | None
    detail: str


def update_deal(*, session: Session, user: User, deal: Deal, deal_in: DealUpdate, now: datetime | None = None) -> Deal:
    """Edit fields; feedback merges key by key; need+budget+signer confirmed makes the deal effective."""
    now = now or utcnow()
    deals_service.require_edit(user, deal)
    changes = deal_in.model_dump(exclude_unset=True)
    if "feedback" in changes and changes["feedback"] is not None:
        _merge_feedback(session=session, user=user, deal=deal, updates=changes.pop("feedback"), now=now)
    if "amount" in changes and changes["amount"] is not None:
        deal.amount_minor = deals_service.to_minor(changes.pop("amount"))
    for key, value in changes.items():
        if value is None and key not in ("expected_close_date",):
            continue
        setattr(deal, key, value)
    if deal.need_confirmed and deal.budget_confirmed and deal.signer_confirmed and deal.effective_at is None:
        deal.effective_at = now
    session.flush()
    return deal


def _merge_feedback(*, session: Session, user: User, deal: Deal, updates: dict[str, object], now: datetime) -> None:
    process, _ = process_service.get_process(session=session, process_id=deal.process_id, version=deal.process_version)
    deals_service.check_feedback_keys(process, updates)
    merged = dict(deal.feedback or {})
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    deal.feedback = merged  # a new dict so the JSON column is written
    deals_service.record_activity(session=session, deal=deal, kind="feedback", by=user, at=now,
                                  detail={"fields": sorted(updates)})


def missing_feedback(*, session: Session, deal: Deal) -> list[str]:
    """Required feedback of the deal's current stage that is still empty."""
    process, _ = process_service.get_process(session=session, process_id=deal.process_id, version=deal.process_version)
    stage = process_service.stage_of(process, deal.stage_id)
    return [name for name in stage.required_feedback if not deals_service.is_filled((deal.feedback or {}).get(name))]


def advance(*, session: Session, user: User, deal: Deal, reason: str = "", now: datetime | None = None) -> AdvanceOutcome:
    """Move to the next stage (or win from the last); stages that need approval open a request instead."""
    now = now or utcnow()
    deals_service.require_edit(user, deal)
    _require_open(deal)
    if pending_approval(session=session, deal=deal) is not None:
        raise ApprovalPending(f"Deal {deal.id} already waits for a manager's approval; wait for the decision.")
    missing = missing_feedback(session=session, deal=deal)
    if missing:
        raise MissingFeedback(deal.stage_id, missing)
    process, _ = process_service.get_process(session=session, process_id=deal.process_id, version=deal.process_version)
    stage = process_service.stage_of(process, deal.stage_id)
    target = process_service.next_stage(process, deal.stage_id)
    if stage.approval == Approval.MANAGER:
        approval = DealApproval(deal_id=deal.id, from_stage=deal.stage_id, to_stage=target,
                                requested_by_id=user.id, requested_at=now, reason=reason)
        session.add(approval)
        deals_service.record_activity(session=session, deal=deal, kind="approval_requested", by=user, at=now,
                                      detail={"to_stage": target})
        return AdvanceOutcome(deal, False, approval,
                              f"Stage '{stage.id}' needs the manager's approval to move to '{target}'; request sent.")
    _move(session=session, deal=deal, to=target, by=user, at=now, reason=reason)
    return AdvanceOutcome(deal, True, None, f"Moved to '{target}'.")


def _move(*, session: Session, deal: Deal, to: str, by: User, at: datetime, reason: str,
          approval_id: int | None = None) -> None:
    source = deal.stage_id
    if to == process_service.WON:
        deal.status, deal.closed_at = DealStatus.won, at
        _mark_customer(session=session, deal=deal, at=at)
        kind = EventKind.won
    else:
        deal.stage_id, deal.stage_entered_at = to, at
        kind = EventKind.advanced
    deals_service.record_event(session=session, deal=deal, kind=kind, from_stage=source,
                               to_stage=None if kind == EventKind.won else to, by=by, at=at,
                               reason=reason, approval_id=approval_id)


def _mark_customer(*, session: Session, deal: Deal, at: datetime) -> None:
    account = deals_service.get_account(session=session, account_id=deal.account_id)
    if account.customer_since is None:
        account.customer_since = at.date()


def pending_approval(*, session: Session, deal: Deal) -> DealApproval | None:
    return session.scalar(select(DealApproval).where(
        DealApproval.deal_id == deal.id, DealApproval.status == ApprovalStatus.pending))


def get_approval(*, session: Session, approval_id: int, user: User) -> DealApproval:
    approval = session.get(DealApproval, approval_id)
    if approval is None:
        raise ApprovalNotFound(f"Approval request {approval_id} does not exist or is not visible to you.")
    deals_service.get_deal(session=session, deal_id=approval.deal_id, user=user)  # 404 across teams
    return approval


def list_approvals(*, session: Session, user: User, status: str | None = ApprovalStatus.pending) -> list[DealApproval]:
    """Approval requests on deals the user may see (a manager's inbox)."""
    query = select(DealApproval).join(Deal, Deal.id == DealApproval.deal_id).where(deals_service.visible_filter(user))
    if status:
        query = query.where(DealApproval.status == status)
    return list(session.scalars(query.order_by(DealApproval.requested_at)))


def _require_approver(user: User, deal: Deal, approval: DealApproval) -> None:
    if approval.requested_by_id == user.id:
        raise NotAllowed("You cannot decide your own approval request; the deal's team manager does.")
    leads_team = user.role == Role.manager and deal.team_id in user.team_ids(TeamRelation.manager)
    if not (leads_team or user.role == Role.admin):
        raise NotAllowed("Only a manager of the deal's team (or an admin) decides this approval request.")
    if approval.status != ApprovalStatus.pending:
        raise ApprovalAlreadyDecided(f"Approval request {approval.id} was already {approval.status}.")


def approve(*, session: Session, user: User, approval: DealApproval, comment: str = "",
            now: datetime | None = None) -> Deal:
    """The manager approves: the deal moves, the history names the approver and the request."""
    now = now or utcnow()
    deal = deals_service.get_deal(session=session, deal_id=approval.deal_id)
    _require_approver(user, deal, approval)
    _require_open(deal)
    missing = missing_feedback(session=session, deal=deal)
    if missing:  # feedback may have been cleared since the request
        raise MissingFeedback(deal.stage_id, missing)
    approval.status, approval.decided_by_id, approval.decided_at, approval.comment = (
        ApprovalStatus.approved, user.id, now, comment)
    reason = f"approved request {approval.id} (asked: {approval.reason or '-'})" + (f"; {comment}" if comment else "")
    _move(session=session, deal=deal, to=approval.to_stage, by=user, at=now, reason=reason, approval_id=approval.id)
    return deal


def reject(*, session: Session, user: User, approval: DealApproval, comment: str,
           now: datetime | None = None) -> DealApproval:
    """The manager rejects with a comment: the deal stays; the rep fixes it and advances again."""
    now = now or utcnow()
    deal = deals_service.get_deal(session=session, deal_id=approval.deal_id)
    _require_approver(user, deal, approval)
    if not comment.strip():
        raise InvalidDealInput("A rejection needs a comment telling the rep what to fix.")
    approval.status, approval.decided_by_id, approval.decided_at, approval.comment = (
        ApprovalStatus.rejected, user.id, now, comment.strip())
    deals_service.record_activity(session=session, deal=deal, kind="approval_rejected", by=user, at=now,
                                  detail={"approval_id": approval.id, "comment": comment.strip()})
    return approval


def close(*, session: Session, user: User, deal: Deal, status: DealStatus, reason: str,
          now: datetime | None = None) -> Deal:
    """Mark a deal lost or invalid with a reason, at any stage."""
    now = now or utcnow()
    deals_service.require_edit(user, deal)
    _require_open(deal)
    if status not in (DealStatus.lost, DealStatus.invalid):
        raise InvalidDealInput("Close a deal as 'lost' or 'invalid'; it is won by advancing from its last stage.")
    if not reason.strip():
        raise InvalidDealInput(f"Marking a deal {status} needs a reason.")
    approval = pending_approval(session=session, deal=deal)
    if approval is not None:
        approval.status, approval.comment = ApprovalStatus.rejected, f"withdrawn: deal marked {status}"
    deal.status, deal.close_reason, deal.closed_at = status, reason.strip(), now
    deals_service.record_event(session=session, deal=deal, kind=EventKind(status), from_stage=deal.stage_id,
                               to_stage=None, by=user, at=now, reason=reason.strip())
    return deal


def record_intent(*, session: Session, user: User, deal: Deal, decision: IntentDecision, reason: str,
                  now: datetime | None = None) -> DealIntent:
    """The 30-day judgment: keep (with a reason) or drop (the deal is marked lost)."""
    now = now or utcnow()
    deals_service.require_edit(user, deal)
    _require_open(deal)
    intent = DealIntent(deal_id=deal.id, decision=decision, reason=reason.strip(), by_id=user.id, at=now)
    session.add(intent)
    deals_service.record_activity(session=session, deal=deal, kind="intent", by=user, at=now,
                                  detail={"decision": decision, "reason": reason.strip()})
    if decision == IntentDecision.drop:
        close(session=session, user=user, deal=deal, status=DealStatus.lost,
              reason=f"dropped at the 30-day review: {reason.strip()}", now=now)
    session.flush()
    return intent


def _require_open(deal: Deal) -> None:
    if deal.status != DealStatus.open:
        raise DealClosed(f"Deal {deal.id} is {deal.status}; closed deals do not move.")
