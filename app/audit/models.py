"""One row per sensitive action: who did what to which object, and when."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditAction(StrEnum):
    call_view = "call.view"
    transcript_view = "call.transcript_view"
    transcript_export = "call.transcript_export"
    original_view = "call.original_view"  # unredacted transcript (admins only)
    call_delete = "call.delete"
    user_create = "user.create"
    role_change = "user.role_change"
    password_reset = "user.password_reset"
    token_create = "token.create"
    token_revoke = "token.revoke"
    sop_upload = "sop.upload"
    sop_change = "sop.change"
    sop_review = "sop.review"  # a person corrected or confirmed a call's SOP labels
    sop_rematch = "sop.rematch"  # a person asked for every call of a SOP to be matched again
    privacy_change = "team.privacy_change"
    retention_change = "team.retention_change"
    retention_run = "retention.run"


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The actor row may be deleted later; the e-mail keeps the record readable.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(254), default="")  # "" = the system (CLI, cron)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
