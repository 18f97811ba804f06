"""Request and response bodies of accounts, contacts, deals and approvals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.deals.models import ContactRole, DealSource, DealStatus, IntentDecision, TargetMetric

Money = Decimal


def _non_negative(value: Decimal | None) -> Decimal | None:
    if value is not None and value < 0:
        raise ValueError("amount must not be negative")
    if value is not None and value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("amount may have at most two decimals")
    return value


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    external_ref: str | None = Field(default=None, max_length=120)
    team_id: int | None = None
    owner_id: int | None = None
    industry: str = Field(default="", max_length=120)
    address: str = Field(default="", max_length=300)
    customer_since: date | None = None


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    industry: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    customer_since: date | None = None


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    external_ref: str | None
    team_id: int | None
    owner_id: int | None
    industry: str
    address: str
    customer_since: date | None


class AccountList(BaseModel):
    items: list[AccountRead]
    total: int
    page: int
    page_size: int


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    title: str = Field(default="", max_length=120)
    role: ContactRole = ContactRole.user
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=60)


class ContactRead(ContactCreate):
    model_config = ConfigDict(from_attributes=True)
    id: int
    account_id: int


class DealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    account_id: int | None = Field(default=None, description="an existing account, or give account_name")
    account_name: str | None = Field(default=None, min_length=1, max_length=200)
    process_id: str = Field(min_length=1, max_length=100)
    owner_id: int | None = Field(default=None, description="default: the caller (reps always own their deals)")
    team_id: int | None = Field(default=None, description="default: the owner's first team")
    external_ref: str | None = Field(default=None, max_length=120)
    amount: Money = Decimal(0)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    expected_close_date: date | None = None
    source: DealSource = DealSource.other
    feedback: dict[str, Any] = Field(default_factory=dict)

    _amount = field_validator("amount")(_non_negative)


class DealUpdate(BaseModel):
    """Editable fields; feedback is merged key by key (null removes a key)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Money | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    expected_close_date: date | None = None
    source: DealSource | None = None
    feedback: dict[str, Any] | None = None
    need_confirmed: bool | None = None
    budget_confirmed: bool | None = None
    signer_confirmed: bool | None = None

    _amount = field_validator("amount")(_non_negative)


class DealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    external_ref: str | None
    name: str
    account_id: int
    owner_id: int
    team_id: int | None
    process_id: str
    process_version: int
    stage_id: str
    stage_entered_at: datetime
    amount: Money
    currency: str
    expected_close_date: date | None
    status: DealStatus
    close_reason: str | None
    closed_at: datetime | None
    source: DealSource
    opened_at: datetime
    feedback: dict[str, Any]
    need_confirmed: bool
    budget_confirmed: bool
    signer_confirmed: bool
    effective_at: datetime | None
    existing_account: bool


class DealList(BaseModel):
    items: list[DealRead]
    total: int
    page: int
    page_size: int


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: DealStatus = Field(description="lost or invalid (a deal is won by advancing from its last stage)")
    reason: str = Field(min_length=1, max_length=2000)


class AdvanceResult(BaseModel):
    deal: DealRead
    moved: bool
    approval_id: int | None = None
    detail: str


class StageEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    from_stage: str | None
    to_stage: str | None
    by_id: int | None
    at: datetime
    reason: str
    approval_id: int | None


class ApprovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    deal_id: int
    from_stage: str
    to_stage: str
    status: str
    requested_by_id: int | None
    requested_at: datetime
    reason: str
    decided_by_id: int | None
    decided_at: datetime | None
    comment: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(default="", max_length=2000)


class IntentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: IntentDecision
    reason: str = Field(min_length=3, max_length=2000)


class LeadConvert(BaseModel):
    """A qualified lead becomes an account, a contact and a deal in the process's first stage."""

    model_config = ConfigDict(extra="forbid")
    company: str = Field(min_length=1, max_length=200)
    contact_name: str | None = Field(default=None, max_length=120)
    contact_role: ContactRole = ContactRole.user
    contact_phone: str = Field(default="", max_length=60)
    contact_email: str = Field(default="", max_length=254)
    deal_name: str | None = Field(default=None, max_length=200)
    process_id: str = Field(min_length=1, max_length=100)
    amount: Money = Decimal(0)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    expected_close_date: date | None = None
    team_id: int | None = None

    _amount = field_validator("amount")(_non_negative)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    team_id: int | None = None
    rep_id: int | None = None
    period: str = Field(min_length=4, max_length=10)
    metric: TargetMetric = TargetMetric.revenue
    value: Decimal = Field(ge=0)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class TargetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    team_id: int | None
    rep_id: int | None
    period: str
    metric: str
    value: Decimal
    currency: str


class ImportRejection(BaseModel):
    line: int
    reason: str


class ImportReport(BaseModel):
    imported: int
    rejected: list[ImportRejection]
    encoding: str
    columns: dict[str, str] = Field(description="CSV header → field it was mapped to")
    batches: int
