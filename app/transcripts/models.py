"""Stored utterances (turns) of a call and their embeddings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class UtteranceRow(Base):
    __tablename__ = "utterance"
    __table_args__ = (UniqueConstraint("call_id", "idx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int]
    speaker: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # rep | customer | unknown
    start: Mapped[float]
    end: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    # [[start, end, text, probability], …]; redacted like the text when a policy applies.
    words: Mapped[list[Any]] = mapped_column(JSON, default=list)
    redacted: Mapped[bool] = mapped_column(default=False)


class UtteranceEmbedding(Base):
    __tablename__ = "utterance_embedding"
    __table_args__ = (Index("ix_utterance_embedding_call", "call_id"),)

    utterance_id: Mapped[int] = mapped_column(
        ForeignKey("utterance.id", ondelete="CASCADE"), primary_key=True
    )
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(120))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    # SOP matching's vector where its embedder differs from `model` (models.embedder.match_embedder_name).
    match_model: Mapped[str | None] = mapped_column(String(120), default=None)
    match_vector: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
