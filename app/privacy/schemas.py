from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.privacy.redaction import DEFAULT_KINDS, PiiKind, ReplacementStyle


class PrivacySettings(BaseModel):
    """A team's privacy policy: what is redacted at ingest, how, and how long calls are kept."""

    model_config = ConfigDict(extra="forbid")

    redaction_enabled: bool = True
    kinds: list[PiiKind] = Field(default_factory=lambda: sorted(DEFAULT_KINDS), max_length=len(PiiKind))
    style: ReplacementStyle = ReplacementStyle.TAG
    keep_original: bool = Field(default=False, description="keep unredacted text, readable by admins only")
    audio_tone: bool = Field(default=False, description="replace redacted audio spans by a tone in clips")
    retention_days: int | None = Field(default=None, ge=1, le=36500, description="delete calls older than this")


class PrivacySettingsRead(PrivacySettings):
    team_id: int


class OriginalUtterance(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    idx: int
    text: str


class OriginalTranscript(BaseModel):
    call_id: int
    utterances: list[OriginalUtterance]


class RetentionItem(BaseModel):
    call_id: int
    team_id: int | None
    team_name: str
    occurred_at: datetime | None
    created_at: datetime
    age_days: int
    retention_days: int


class RetentionReport(BaseModel):
    dry_run: bool
    deleted: int
    items: list[RetentionItem]
