"""Unredacted originals of redacted utterances, kept only when the team's policy says so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class UtteranceOriginal(Base):
    """Readable by admins only (GET /api/v1/calls/{id}/transcript/original), every read audited."""

    __tablename__ = "utterance_original"
    __table_args__ = (UniqueConstraint("call_id", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Keyed by (call, position) rather than utterance id: originals are written before the
    # redacted utterances replace the old rows, and both cascade away with the call.
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
