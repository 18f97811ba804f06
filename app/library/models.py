"""Library tables: scored snippets, clips, playlists, talk tracks and the outcome model's state.

Deletion: every row that belongs to a call (snippet, clip) references it with ON DELETE CASCADE,
so deleting a call removes its snippets and clips (also auto clips kept in playlists); playlist
items of those clips go with them. A session hook (app.library.search) then drops their
entries from the search index after the commit and queues a talk-track refresh.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, TimestampMixin, utcnow


class ClipKind(StrEnum):
    auto = "auto"  # a top snippet, chosen by the library.update job
    manual = "manual"  # cut by a manager or trainer


class TrackKind(StrEnum):
    step = "step"
    topic = "topic"


class Snippet(Base):
    """A rep moment at one SOP step with the customer's response around it, scored."""

    __tablename__ = "library_snippet"
    __table_args__ = (Index("ix_library_snippet_sop_step", "sop_id", "step_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    sop_id: Mapped[str] = mapped_column(String(100))
    sop_version: Mapped[int]
    step_id: Mapped[str] = mapped_column(String(80))
    step_name: Mapped[str] = mapped_column(String(200), default="")
    stage_id: Mapped[str] = mapped_column(String(80), default="")
    team_id: Mapped[int | None] = mapped_column(index=True)
    rep_id: Mapped[int | None] = mapped_column(index=True)
    rep_name: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    occurred_at: Mapped[datetime | None]
    start: Mapped[float]
    end: Mapped[float]
    utterance_indexes: Mapped[list[int]] = mapped_column(JSON)
    response_indexes: Mapped[list[int]] = mapped_column(JSON)
    rep_text: Mapped[str] = mapped_column(Text)
    customer_before: Mapped[str] = mapped_column(Text, default="")
    customer_text: Mapped[str] = mapped_column(Text, default="")
    topic: Mapped[str | None] = mapped_column(String(80), index=True)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(
        String(16)
    )  # advanced|won|stalled|lost; None unknown
    outcome_evidence: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(default=0.0, index=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    vector_model: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Clip(TimestampMixin, Base):
    """A span of one call in the library: auto (top snippet) or cut by hand."""

    __tablename__ = "library_clip"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    snippet_id: Mapped[int | None] = mapped_column(
        ForeignKey("library_snippet.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=ClipKind.manual)
    title: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    folder: Mapped[str] = mapped_column(String(200), default="", index=True)
    start: Mapped[float]
    end: Mapped[float]
    text: Mapped[str] = mapped_column(Text, default="")
    step_id: Mapped[str | None] = mapped_column(String(80))
    topic: Mapped[str | None] = mapped_column(String(80))
    team_id: Mapped[int | None] = mapped_column(index=True)
    rep_id: Mapped[int | None]
    rep_name: Mapped[str] = mapped_column(String(120), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    occurred_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    vector_model: Mapped[str] = mapped_column(String(120))


class Playlist(TimestampMixin, Base):
    """Ordered clips with notes, visible to its owner, named users and shared teams."""

    __tablename__ = "library_playlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    shared_team_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    shared_user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class PlaylistItem(Base):
    __tablename__ = "library_playlist_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(
        ForeignKey("library_playlist.id", ondelete="CASCADE"), index=True
    )
    clip_id: Mapped[int] = mapped_column(
        ForeignKey("library_clip.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalkTrack(Base):
    """How reps handle one SOP step or one recurring customer topic (知识点)."""

    __tablename__ = "library_talk_track"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(120), index=True)  # step id or topic key
    sop_id: Mapped[str | None] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # how the label was chosen, top terms
    usage_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TalkTrackVariant(Base):
    """One group of near-identical rep phrasings within a talk track, ranked."""

    __tablename__ = "library_talk_track_variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    talk_track_id: Mapped[int] = mapped_column(
        ForeignKey("library_talk_track.id", ondelete="CASCADE"), index=True
    )
    rank: Mapped[int]
    text: Mapped[str] = mapped_column(Text)  # the best-scoring phrasing
    snippet_ids: Mapped[list[int]] = mapped_column(JSON)
    usage_count: Mapped[int]
    labelled_count: Mapped[int]
    advanced_count: Mapped[int]
    advancement_rate: Mapped[float | None]
    mean_score: Mapped[float]
    rank_score: Mapped[float]
    best_clip_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # teams, reps, languages, interval
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    vector_model: Mapped[str] = mapped_column(String(120))


class LibraryState(Base):
    """Single-row key/value state: the learned outcome model's summary."""

    __tablename__ = "library_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The deletion hooks must be active wherever these models are loaded (API, workers, CLI).
from app.library import search as _index_hooks  # noqa: F401
