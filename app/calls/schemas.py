from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LANGS = ("en", "zh")


class CallMeta(BaseModel):
    """Metadata sent with an upload (form fields, CLI flags or a sidecar JSON)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="", max_length=300)
    rep: str | None = Field(default=None, max_length=254, description="rep e-mail (or name)")
    team: str | None = Field(default=None, max_length=120, description="team name or id")
    occurred_at: datetime | None = None
    language: Literal["en", "zh"] | None = Field(default=None, description="omit to detect")
    deal_ref: str | None = Field(default=None, max_length=120)
    account_ref: str | None = Field(default=None, max_length=120)
    sop_id: str | None = Field(default=None, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    call_type: str | None = Field(default=None, max_length=60)
    stages: list[str] | None = Field(
        default=None, max_length=20, description="the SOP stages the call works on (stage ids; comma-separated in a form)"
    )
    rep_channel: Literal["left", "right"] = "left"

    @field_validator("stages", mode="before")
    @classmethod
    def _split_stages(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list):
            value = [part for part in value if part != ""] or None
        return value

    @field_validator("stages")
    @classmethod
    def _stage_ids(cls, value: list[str] | None) -> list[str] | None:
        bad = [v for v in value or () if len(v) > 80 or not v.isprintable()]
        if bad:
            raise ValueError(f"not stage ids: {bad[:3]} (printable, at most 80 characters each)")
        return list(dict.fromkeys(value)) if value else None

    @field_validator("title", "rep", "team", "deal_ref", "account_ref", "call_type")
    @classmethod
    def _no_control_chars(cls, value: str | None) -> str | None:
        if value is None:
            return value
        cleaned = "".join(ch for ch in value if ch.isprintable())
        return cleaned.strip()


class CallRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    status: str
    error: str | None
    failed_stage: str | None
    source_kind: str
    source_format: str
    original_filename: str
    size_bytes: int
    sha256: str
    rep_id: int | None
    rep_name: str
    team_id: int | None
    occurred_at: datetime | None
    language: str | None
    language_source: str | None
    duration_s: float | None
    channels: int | None
    rep_channel: str
    external_deal_id: str | None
    external_account_id: str | None
    sop_id: str | None
    sop_stages: list[str] | None
    call_type: str | None
    timings: dict[str, Any]
    attribution_method: str | None
    attribution_confidence: float | None
    asr_model: str | None
    embedding_model: str | None
    created_at: datetime
    ready_at: datetime | None


class CallAccepted(BaseModel):
    id: int
    status: str
    duplicate: bool = False
    detail: str


class CallList(BaseModel):
    items: list[CallRead]
    total: int
    page: int
    page_size: int
