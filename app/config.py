"""The one settings object of the service (TALKTRACK_* environment variables, .env)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRET = "change-me-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALKTRACK_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("./var")
    database_url: str = ""  # default: sqlite under var_dir
    media_dir: Path | None = None  # default: var_dir / "media"
    # Celery broker. Empty means the embedded filesystem broker under var_dir/broker.
    broker_url: str = ""
    secret_key: str = PLACEHOLDER_SECRET
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)  # 2 GiB
    max_transcript_bytes: int = Field(default=20 * 1024**2, ge=1)
    # Per process: API processes × (pool + overflow) must stay under PostgreSQL's max_connections.
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_max_overflow: int = Field(default=5, ge=0, le=200)
    # Per process: how many uploads may hold a database slot at once. A burst of uploads then
    # queues behind these few instead of taking every slot from the reads (keep it under
    # db_pool_size; app/deps.py).
    upload_concurrency: int = Field(default=2, ge=1, le=200)
    # SOP matching learns from reviews: up to this many lines per step that people labelled
    # (completely reviewed calls) or corrected join the step's examples (app/sop/review.py). 0: off.
    sop_review_examples_per_step: int = Field(default=30, ge=0, le=500)
    # Once this many reviews of a SOP were saved or removed since its calls were last re-matched,
    # they are all re-matched in the background, so every call gains from what was learned. 0: only
    # on request (POST /api/v1/sops/{id}/rematch, `talktrack sop rematch`).
    sop_review_rematch_after: int = Field(default=5, ge=0, le=100_000)
    # …but automatically at most once per this many hours per SOP (a re-match of a big team's calls
    # is minutes of worker time); changes that arrive sooner wait for the next automatic one.
    sop_review_rematch_interval_h: float = Field(default=6.0, ge=0.0, le=24 * 365)
    default_page_size: int = 50
    max_page_size: int = 500
    # Pipeline
    stage_time_limit_s: int = 3600
    outbox_relay_interval_s: float = 5.0
    session_ttl_hours: int = 12
    # How long a resolved API token / session may be reused in one process without asking the
    # database (app/users/token_cache.py): a revocation or role change made in another process
    # takes effect within this many seconds; in the same process at once. 0: always ask.
    token_cache_s: float = Field(default=5.0, ge=0, le=60)
    # Public origins of this deployment (comma-separated, e.g. "https://talktrack.example.com"),
    # needed only when a proxy changes the Host header and browsers reach us over plain HTTP.
    trusted_origins: str = ""
    login_max_failures: int = 5
    login_window_s: int = 300

    @model_validator(mode="after")
    def _defaults_and_secret(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'talktrack.db').as_posix()}"
        if self.media_dir is None:
            self.media_dir = self.var_dir / "media"
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("TALKTRACK_SECRET_KEY must be set to a real secret in production")
        return self

    @property
    def trusted_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.trusted_origins.split(",") if o.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_dir(self) -> Path:
        return self.var_dir / "broker"


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
