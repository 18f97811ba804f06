"""Typed helpers for deals tests: users as ORM rows, deals placed in a stage, histories walked by date."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app.deals import service as deals_service
from app.deals.models import Deal, DealStatus, EventKind
from app.deals.schemas import DealCreate
from app.users.models import User
from tests.deals.conftest import FIVE, T0

STAGES = ["lead", "qualify", "proposal", "negotiation", "closing"]


def user(session: Session, person_id: int) -> User:
    row = session.get(User, person_id)
    assert row is not None
    return row


def new_deal(session: Session, owner: User, *, name: str = "Deal", amount: str = "500000", at: datetime = T0,
             ref: str | None = None, account: str = "Acme", process_id: str = FIVE, **extra: object) -> Deal:
    deal_in = DealCreate(name=name, account_name=account, process_id=process_id, amount=Decimal(amount),
                         external_ref=ref, **extra)  # type: ignore[arg-type]
    return deals_service.create_deal(session=session, user=owner, deal_in=deal_in, now=at)


def place(session: Session, deal: Deal, stage_id: str) -> Deal:
    """Put a deal straight into a stage (as an import would), without walking the history."""
    deal.stage_id = stage_id
    session.flush()
    return deal


def walk(session: Session, deal: Deal, by: User, steps: int, *, start: datetime = T0, days: float = 10,
         end: str | None = None) -> Deal:
    """Advance a deal `steps` stages, one every `days` days, then optionally win/lose it."""
    at = start
    for _ in range(steps):
        at += timedelta(days=days)
        nxt = STAGES[STAGES.index(deal.stage_id) + 1]
        deals_service.record_event(session=session, deal=deal, kind=EventKind.advanced, from_stage=deal.stage_id,
                                   to_stage=nxt, by=by, at=at, reason="test")
        deal.stage_id, deal.stage_entered_at = nxt, at
    if end is not None:
        at += timedelta(days=days)
        deal.status, deal.closed_at = DealStatus(end), at
        deals_service.record_event(session=session, deal=deal, kind=EventKind(end), from_stage=deal.stage_id,
                                   to_stage=None, by=by, at=at, reason="test")
    session.flush()
    return deal
