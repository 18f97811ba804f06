"""The one door from app/ to models/: lazy imports, models cached per process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.errors import Unprocessable


def probe_audio(path: Path) -> Any:
    """Duration, channels and codec of an audio file; 422 when it cannot be decoded."""
    from models import audio
    from models.errors import AudioDecodeError

    try:
        return audio.probe(path)
    except AudioDecodeError as exc:
        raise Unprocessable(str(exc)) from exc


def get_embedder(name: str | None = None) -> Any:
    from models.embedder import get_embedder as _get

    return _get(name)


def match_embedder_name(language: str | None) -> str:
    """The embedder spec SOP matching uses for SOPs in ``language`` (English: e5 + mpnet by default)."""
    from models.embedder import match_embedder_name as _name

    return _name(language)


def get_match_embedder(language: str | None) -> Any:
    """SOP matching's embedder for SOPs in ``language``."""
    return get_embedder(match_embedder_name(language))


def embed_reusing(embedder: Any, texts: list[str], *, known: dict[str, Any]) -> Any:
    """Query vectors of ``texts``; an ensemble takes a part's vectors from ``known`` (by model name)."""
    from models.embedder import embed_reusing as _embed

    return _embed(embedder, texts, kind="query", known=known)


def embed_query(text: str, name: str | None = None) -> Any:
    """One normalised query vector for search."""
    return get_embedder(name).embed([text], kind="query")[0]


def voiceprint(path: Path) -> tuple[Any, str]:
    """A normalised voice embedding of an enrolment sample, and the encoder's name."""
    from models import audio, diarizer
    from models.errors import AudioDecodeError

    try:
        samples = audio.load(path)
    except AudioDecodeError as exc:
        raise Unprocessable(str(exc)) from exc
    info_s = len(samples) / 16000
    if info_s < 3:
        raise Unprocessable(f"The voice sample is {info_s:.1f} s long; record at least 5 s of the rep speaking.")
    return diarizer.voiceprint(samples, 16000), "resemblyzer-ge2e"
