"""Stored SOP versions and each call's match result against one (sop id, version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class SopVersion(Base):
    __tablename__ = "sop_version"
    __table_args__ = (UniqueConstraint("sop_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    declared_version: Mapped[int]  # the `version:` written in the file
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class CallSopResult(Base):
    """The latest match of a call; replaced atomically when a re-match finishes."""

    __tablename__ = "call_sop_result"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("call.id", ondelete="CASCADE"), primary_key=True
    )
    sop_id: Mapped[str] = mapped_column(String(100), index=True)
    sop_version: Mapped[int]
    adherence: Mapped[float]
    embedding_model: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallSopReview(Base):
    """A person's review of a call's SOP labels. The corrections outlive re-matches: every new
    match of the call against the same SOP applies them (app/sop/review.py)."""

    __tablename__ = "call_sop_review"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("call.id", ondelete="CASCADE"), primary_key=True
    )
    sop_id: Mapped[str] = mapped_column(String(100), index=True)
    sop_version: Mapped[int]  # the version the reviewer saw
    # {"<utterance index>": step id, or null for off-SOP}
    corrections: Mapped[dict[str, str | None]] = mapped_column(JSON, default=dict)
    # True: the reviewer checked every label, so the ones left alone are confirmed too.
    complete: Mapped[bool] = mapped_column(default=False)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reviewed_by: Mapped[str] = mapped_column(String(254), default="")  # readable after a user is deleted
    reviewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SopLearning(Base):
    """What a SOP's stored matches have learned from its reviews: reviews saved or removed since
    the last re-match of its calls, which the next one picks up (app/sop/review.relearn_if_due)."""

    __tablename__ = "sop_learning"

    sop_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    review_changes: Mapped[int] = mapped_column(default=0)  # since the last re-match was queued
    rematched_at: Mapped[datetime | None]
    rematch_calls: Mapped[int] = mapped_column(default=0)  # calls the last re-match queued
