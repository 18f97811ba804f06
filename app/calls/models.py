"""A call: the uploaded recording or transcript, its metadata and its pipeline state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin


class CallStatus(StrEnum):
    queued = "queued"
    transcribing = "transcribing"
    attributing = "attributing"
    embedding = "embedding"
    matching = "matching"
    ready = "ready"
    failed = "failed"



class SourceKind(StrEnum):
    audio = "audio"
    transcript = "transcript"


class Call(TimestampMixin, Base):
    __tablename__ = "call"
    __table_args__ = (Index("ix_call_team_occurred", "team_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    source_kind: Mapped[str] = mapped_column(String(16))
    source_format: Mapped[str] = mapped_column(String(32))  # wav, mp3, vtt, megaview-json, …
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    media_path: Mapped[str] = mapped_column(String(500))  # relative to the media root
    size_bytes: Mapped[int] = mapped_column(BigInteger)

    rep_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    rep_name: Mapped[str] = mapped_column(String(120), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime | None] = mapped_column(index=True)
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    language_source: Mapped[str | None] = mapped_column(String(16))  # given | detected
    language_probability: Mapped[float | None]
    external_deal_id: Mapped[str | None] = mapped_column(String(120), index=True)
    external_account_id: Mapped[str | None] = mapped_column(String(120))
    sop_id: Mapped[str | None] = mapped_column(String(100))
    # The SOP stages the call works on, as given at upload or re-match (a process SOP's call); None: from the
    # call's deal (its stage when the call happened) or inferred by the matcher.
    sop_stages: Mapped[list[str] | None] = mapped_column(JSON)
    call_type: Mapped[str | None] = mapped_column(String(60))

    channels: Mapped[int | None]
    rep_channel: Mapped[str] = mapped_column(String(8), default="left")  # left | right
    duration_s: Mapped[float | None]

    status: Mapped[str] = mapped_column(String(16), default=CallStatus.queued, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    failed_stage: Mapped[str | None] = mapped_column(String(16))
    # Compare-and-set token of the stage attempt in flight: a second delivery of the same
    # stage (broker redelivery after a lost worker) cannot commit over a newer attempt.
    stage_token: Mapped[str | None] = mapped_column(String(36))
    stage_started_at: Mapped[datetime | None]
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # stage -> seconds
    attempts: Mapped[int] = mapped_column(default=0)

    attribution_method: Mapped[str | None] = mapped_column(String(32))
    attribution_confidence: Mapped[float | None]
    asr_model: Mapped[str | None] = mapped_column(String(120))
    embedding_model: Mapped[str | None] = mapped_column(String(120))
    ready_at: Mapped[datetime | None]
    # [[start, end], …] seconds of redacted PII, replaced by a tone on playback when the team asks.
    redacted_audio_spans: Mapped[list[Any]] = mapped_column(JSON, default=list)


class CallAsr(Base):
    """Raw speech-recognition output, kept so attribution can be re-run without ASR."""

    __tablename__ = "call_asr"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(8))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
