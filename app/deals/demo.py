"""Demo deals: replay demo_data/deal_histories.json (made by scripts/make_demo_deals.py) through the
real services, so every demo deal has the stage history, feedback, approvals, intents and targets
the app itself would have recorded. Idempotent: a deal whose external_ref exists is left alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.deals import analytics, workflow
from app.deals import service as deals_service
from app.deals.exceptions import InvalidDealInput
from app.deals.models import Deal, DealStatus, IntentDecision, TargetMetric
from app.deals.schemas import DealCreate, DealUpdate, TargetIn
from app.users import service as users_service
from app.users.models import Role, User


@dataclass(frozen=True)
class DemoDealsReport:
    created: int
    existing: int
    steps: int
    skipped_future_steps: int
    targets: int


def load(*, session: Session, path: Path, now: datetime | None = None) -> DemoDealsReport:
    """Create the file's deals that do not exist yet and replay their steps dated up to `now`."""
    now = now or utcnow()
    data = json.loads(path.read_text(encoding="utf-8"))
    created = existing = steps = skipped = 0
    for spec in data["deals"]:
        if session.scalar(select(Deal.id).where(Deal.external_ref == spec["external_ref"])) is not None:
            existing += 1
            continue
        deal = _create(session=session, spec=spec, process_id=data["process_id"])
        created += 1
        for step in spec["steps"]:
            at = datetime.fromisoformat(step["at"])
            if at > now:  # a demo loaded "early" keeps only what has happened by now
                skipped += 1
                continue
            _STEPS[step["do"]](session, deal, step, at)
            steps += 1
    targets = _targets(session=session, data=data)
    session.flush()
    return DemoDealsReport(created, existing, steps, skipped, targets)


def _user(session: Session, email: str) -> User:
    found = users_service.get_user_by_email(session=session, email=email)
    if found is None:
        raise InvalidDealInput(f"Demo user {email} does not exist; load demo_data/people.json first.")
    return found


def _create(*, session: Session, spec: dict[str, Any], process_id: str) -> Deal:
    owner = _user(session, spec["owner"])
    team = users_service.get_team_by_name(session=session, name=spec["team"])
    team_id = team.id if team is not None else None
    account = deals_service.find_or_create_account(session=session, user=owner, name=spec["account"], team_id=team_id)
    if spec.get("account_customer_since") and account.customer_since is None:
        account.customer_since = date.fromisoformat(spec["account_customer_since"])
    deal_in = DealCreate(
        name=spec["name"], account_id=account.id, process_id=process_id, owner_id=owner.id, team_id=team_id,
        external_ref=spec["external_ref"], amount=Decimal(spec["amount"]), currency=spec["currency"],
        expected_close_date=date.fromisoformat(spec["expected_close_date"]) if spec["expected_close_date"] else None,
        source=spec["source"])
    return deals_service.create_deal(session=session, user=owner, deal_in=deal_in,
                                     now=datetime.fromisoformat(spec["opened_at"]))


def _owner(session: Session, deal: Deal) -> User:
    owner = session.get(User, deal.owner_id)
    assert owner is not None
    return owner


def _feedback(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    workflow.update_deal(session=session, user=_owner(session, deal), deal=deal,
                         deal_in=DealUpdate(feedback=step["fields"]), now=at)


def _advance(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    done = workflow.advance(session=session, user=_owner(session, deal), deal=deal, reason=step.get("reason", ""),
                            now=at)
    if not done.moved:
        raise InvalidDealInput(f"demo deal {deal.external_ref}: '{step['do']}' at {at} opened an approval request")


def _request(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    done = workflow.advance(session=session, user=_owner(session, deal), deal=deal, reason=step.get("reason", ""),
                            now=at)
    if done.approval is None:
        raise InvalidDealInput(f"demo deal {deal.external_ref}: stage {deal.stage_id} needs no approval at {at}")


def _decide(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    approval = workflow.pending_approval(session=session, deal=deal)
    if approval is None:
        raise InvalidDealInput(f"demo deal {deal.external_ref}: no approval request to {step['do']} at {at}")
    manager = _user(session, step["by"])
    if step["do"] == "approve":
        workflow.approve(session=session, user=manager, approval=approval, comment=step.get("comment", ""), now=at)
    else:
        workflow.reject(session=session, user=manager, approval=approval, comment=step["comment"], now=at)


def _close(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    workflow.close(session=session, user=_owner(session, deal), deal=deal, status=DealStatus(step["status"]),
                   reason=step["reason"], now=at)


def _confirm(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    update = DealUpdate(need_confirmed=step["need"], budget_confirmed=step["budget"], signer_confirmed=step["signer"])
    workflow.update_deal(session=session, user=_owner(session, deal), deal=deal, deal_in=update, now=at)


def _intent(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    workflow.record_intent(session=session, user=_owner(session, deal), deal=deal,
                           decision=IntentDecision(step["decision"]), reason=step["reason"], now=at)


def _note(session: Session, deal: Deal, step: dict[str, Any], at: datetime) -> None:
    deals_service.record_activity(session=session, deal=deal, kind="note", by=_owner(session, deal), at=at,
                                  detail={"text": step["text"]})


_STEPS: dict[str, Callable[[Session, Deal, dict[str, Any], datetime], None]] = {
    "feedback": _feedback, "advance": _advance, "request": _request, "approve": _decide, "reject": _decide,
    "close": _close, "confirm": _confirm, "intent": _intent, "note": _note,
}


def _targets(*, session: Session, data: dict[str, Any]) -> int:
    """Revenue targets per team and period, and each team's weekly effective-new-customer target."""
    admin = session.scalar(select(User).where(User.role == Role.admin).order_by(User.id))
    if admin is None:
        raise InvalidDealInput("The demo needs an admin user to set targets.")
    count = 0
    for target in data["targets"]:
        team = users_service.get_team_by_name(session=session, name=target["team"])
        if team is None:
            continue
        analytics.set_target(session=session, user=admin, target_in=TargetIn(
            team_id=team.id, period=target["period"], value=Decimal(target["value"]), currency=target["currency"]))
        per_week = data["effective_per_week"].get(target["team"])
        if per_week is not None:
            analytics.set_target(session=session, user=admin, target_in=TargetIn(
                team_id=team.id, period=target["period"], metric=TargetMetric.effective_new_customers,
                value=Decimal(per_week)))
        count += 1
    return count
