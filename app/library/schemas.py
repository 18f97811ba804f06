"""Request and response bodies of the library API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

Tag = Annotated[str, Field(min_length=1, max_length=40)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ClipCreate(_In):
    call_id: int
    start: float = Field(ge=0, description="seconds from the start of the call")
    end: float = Field(gt=0)
    title: str = Field(min_length=1, max_length=300)
    note: str = Field(default="", max_length=5000)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    folder: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> ClipCreate:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class ClipUpdate(_In):
    start: float | None = Field(default=None, ge=0)
    end: float | None = Field(default=None, gt=0)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    note: str | None = Field(default=None, max_length=5000)
    tags: list[Tag] | None = Field(default=None, max_length=20)
    folder: str | None = Field(default=None, max_length=200)


class ClipRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    snippet_id: int | None
    kind: str
    title: str
    note: str
    tags: list[str]
    folder: str
    start: float
    end: float
    text: str
    step_id: str | None
    topic: str | None
    team_id: int | None
    rep_id: int | None
    rep_name: str
    language: str
    occurred_at: datetime | None
    outcome: str | None
    score: float | None
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    audio_url: str | None = None
    link: str | None = None


class ClipList(BaseModel):
    items: list[ClipRead]
    total: int
    page: int
    page_size: int


class SnippetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    call_id: int
    sop_id: str
    sop_version: int
    step_id: str
    step_name: str
    stage_id: str
    team_id: int | None
    rep_id: int | None
    rep_name: str
    language: str
    occurred_at: datetime | None
    start: float
    end: float
    utterance_indexes: list[int]
    response_indexes: list[int]
    rep_text: str
    customer_before: str
    customer_text: str
    topic: str | None
    features: dict[str, Any]
    outcome: str | None
    outcome_evidence: str
    score: float
    explanation: dict[str, Any]
    link: str | None = None


class SnippetList(BaseModel):
    items: list[SnippetRead]
    total: int
    page: int
    page_size: int


class PlaylistCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    shared_team_ids: list[int] = Field(default_factory=list, max_length=100)
    shared_user_ids: list[int] = Field(default_factory=list, max_length=500)


class PlaylistUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    shared_team_ids: list[int] | None = Field(default=None, max_length=100)
    shared_user_ids: list[int] | None = Field(default=None, max_length=500)


class PlaylistItemIn(_In):
    clip_id: int
    note: str = Field(default="", max_length=5000)
    position: int | None = Field(default=None, ge=1, description="1-based; default: at the end")


class PlaylistBulkAdd(_In):
    q: str = Field(min_length=1, max_length=500, description="search query; its top clip and snippet results")
    limit: int = Field(default=10, ge=1, le=100)
    step: str | None = None
    topic: str | None = None
    rep_id: int | None = None
    team_id: int | None = None
    language: str | None = None
    outcome: str | None = None
    min_score: float | None = Field(default=None, ge=0, le=1)


class PlaylistReorder(_In):
    item_ids: list[int] = Field(max_length=1000)


class PlaylistRead(BaseModel):
    id: int
    name: str
    description: str
    created_by_id: int | None
    shared_team_ids: list[int]
    shared_user_ids: list[int]
    created_at: datetime
    updated_at: datetime
    items: list[dict[str, Any]] = Field(default_factory=list, description="play order: clips with notes and audio")
    total_duration: float = 0.0


class VariantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rank: int
    text: str
    usage_count: int
    labelled_count: int
    advanced_count: int
    advancement_rate: float | None
    mean_score: float
    rank_score: float
    snippet_ids: list[int]
    best_clip_ids: list[int]
    meta: dict[str, Any]


class TalkTrackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    key: str
    sop_id: str | None
    label: str
    detail: dict[str, Any]
    usage_count: int
    updated_at: datetime
    variants: list[VariantRead] = Field(default_factory=list)


class SearchResponse(BaseModel):
    query: str
    items: list[dict[str, Any]]
    page: int
    page_size: int
    has_more: bool
    index: dict[str, Any]
