"""Accounts, contacts, deals, their stage history, approvals, call links, intents and targets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, utcnow

CENTS = Decimal(100)
CENT = Decimal("0.01")


class ContactRole(StrEnum):
    decision_maker = "decision_maker"
    influencer = "influencer"
    user = "user"


class DealStatus(StrEnum):
    open = "open"
    won = "won"
    lost = "lost"
    invalid = "invalid"


class DealSource(StrEnum):
    lead = "lead"  # a converted lead
    referral = "referral"
    inbound = "inbound"
    other = "other"


class EventKind(StrEnum):
    created = "created"
    advanced = "advanced"
    won = "won"
    lost = "lost"
    invalid = "invalid"


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class IntentDecision(StrEnum):
    keep = "keep"
    drop = "drop"


class TargetMetric(StrEnum):
    revenue = "revenue"  # amount to win in the period
    effective_new_customers = "effective_new_customers"  # per week


class Account(TimestampMixin, Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    industry: Mapped[str] = mapped_column(String(120), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # An account is "existing" (not new) from the day it first became a customer.
    customer_since: Mapped[date | None]


class Contact(TimestampMixin, Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20), default=ContactRole.user)
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")


class Deal(TimestampMixin, Base):
    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_team_status_stage", "team_id", "status", "stage_id"),
        Index("ix_deal_owner_status", "owner_id", "status"),
        # Pipeline analytics read only these columns, so the scans never touch the table:
        # funnel and average deal (open / won per stage), forecast (open, expected close in the period) …
        Index("ix_deal_process_status_close", "process_id", "status", "expected_close_date", "stage_id", "currency",
              "amount_minor"),
        # … won in the period and the average sales cycle.
        Index("ix_deal_process_status_closed", "process_id", "status", "closed_at", "currency", "amount_minor",
              "opened_at"),
        # … and conversion / win rate per stage: deals grouped by (status, stages entered, stages left).
        Index("ix_deal_process_status_reach", "process_id", "status", "entered_stages", "advanced_stages"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    process_id: Mapped[str] = mapped_column(String(100))  # leads the ix_deal_process_* indexes
    process_version: Mapped[int]
    stage_id: Mapped[str] = mapped_column(String(80))
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Money is kept in minor units (cents) so sums are exact on SQLite and PostgreSQL alike.
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    expected_close_date: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(10), default=DealStatus.open, index=True)
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(10), default=DealSource.other)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    feedback: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Effective new customer: need, budget and the signer confirmed.
    need_confirmed: Mapped[bool] = mapped_column(default=False)
    budget_confirmed: Mapped[bool] = mapped_column(default=False)
    signer_confirmed: Mapped[bool] = mapped_column(default=False)
    effective_at: Mapped[datetime | None]
    # Whether the account was already a customer when the deal opened (new vs existing business).
    existing_account: Mapped[bool] = mapped_column(default=False)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    # From the stage history (kept by app.deals.stage_summary on every write): the ids, sorted and
    # space-separated, of the stages the deal ever entered and of those it advanced (or won) out of.
    entered_stages: Mapped[str] = mapped_column(Text, default="", server_default="")
    advanced_stages: Mapped[str] = mapped_column(Text, default="", server_default="")

    @property
    def amount(self) -> Decimal:
        return (Decimal(self.amount_minor) / CENTS).quantize(CENT)


class DealStageEvent(Base):
    """Stage history: every creation, advance and close, with who, when and why."""

    __tablename__ = "deal_stage_event"
    # A deal's history in order (deal, time, id) with what conversion and dwell read, so both are
    # one ordered index-only pass per deal.
    __table_args__ = (Index("ix_deal_stage_event_deal_history", "deal_id", "at", "id", "to_stage", "from_stage",
                            "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    from_stage: Mapped[str | None] = mapped_column(String(80))
    to_stage: Mapped[str | None] = mapped_column(String(80))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("deal_approval.id", ondelete="SET NULL"))


class DealStageSummary(Base):
    """Per deal and stage, what its stage history says: kept in step with deal_stage_event by
    app.deals.stage_summary on every write, so conversion and dwell read one row per deal and stage
    instead of re-walking a million events."""

    __tablename__ = "deal_stage_summary"
    # Dwell reads (deal, stage, stays, seconds) for the deals in scope without touching the table.
    __table_args__ = (Index("ix_deal_stage_summary_dwell", "deal_id", "stage_id", "stays", "dwell_seconds"),)

    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), primary_key=True)
    stage_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    entries: Mapped[int] = mapped_column(default=0)  # events into the stage (created, advanced, sent back)
    first_entered_at: Mapped[datetime | None]
    advanced_out: Mapped[int] = mapped_column(default=0)  # advanced or won events out of the stage
    last_left_at: Mapped[datetime | None]
    stays: Mapped[int] = mapped_column(default=0)  # entries followed by another event (completed stays)
    dwell_seconds: Mapped[float] = mapped_column(Float, default=0.0)  # their total length


class DealActivity(Base):
    """Follow-up that is not a stage change: feedback filled, notes, calls linked, intent judgments."""

    __tablename__ = "deal_activity"
    __table_args__ = (Index("ix_deal_activity_deal_at", "deal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # feedback | note | call | intent
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DealApproval(Base):
    """A request to leave a stage that needs the manager's approval."""

    __tablename__ = "deal_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(80))
    to_stage: Mapped[str] = mapped_column(String(80))  # a stage id, or "won" from the last stage
    status: Mapped[str] = mapped_column(String(10), default=ApprovalStatus.pending, index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str] = mapped_column(Text, default="")


class DealCall(Base):
    """A call linked to a deal after upload (calls carrying the deal's external_ref link implicitly)."""

    __tablename__ = "deal_call"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), index=True)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class DealIntent(Base):
    """The rep's judgment on a deal 30 days without progress: keep (with a reason) or drop."""

    __tablename__ = "deal_intent"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SalesTarget(TimestampMixin, Base):
    """A quota for a team or a rep over a period ("2026-Q4", "2026-11", "2026")."""

    __tablename__ = "sales_target"
    __table_args__ = (UniqueConstraint("team_id", "rep_id", "period", "metric", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    metric: Mapped[str] = mapped_column(String(32), default=TargetMetric.revenue)
    value_minor: Mapped[int] = mapped_column(BigInteger)  # cents for revenue; count × 100 otherwise
    currency: Mapped[str] = mapped_column(String(3), default="CNY")

    @property
    def value(self) -> Decimal:
        return (Decimal(self.value_minor) / CENTS).quantize(CENT)
