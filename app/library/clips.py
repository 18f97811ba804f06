"""Clips: auto clips from top snippets, manual clips cut by coaches, and span playback.

Visibility: the library is shared across the organisation — every signed-in user sees every
clip, snippet and talk track, and may play a clip's span (that is what the library is for).
The call itself (full transcript, full recording) stays behind the calls permissions; cutting
a manual clip requires being able to see the call.
"""

from __future__ import annotations

import logging
import os
import wave
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import ml
from app.calls import service as calls_service
from app.calls import storage
from app.calls.models import Call, SourceKind
from app.config import get_settings
from app.errors import Conflict, NotFound, Unprocessable
from app.library import search as index_service
from app.library.lexicons import language_of, library_settings
from app.library.models import Clip, ClipKind, PlaylistItem, Snippet
from app.transcripts import service as transcripts_service
from app.users.models import User

log = logging.getLogger(__name__)
SPAN_TOLERANCE_S = 0.05


class ClipNotFound(NotFound):
    pass


class ClipHasNoAudio(Conflict):
    pass


def get_clip(*, session: Session, clip_id: int) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"Clip {clip_id} does not exist (clips go when their call is deleted).")
    return clip


def call_duration(*, session: Session, call: Call) -> float:
    """The call's length: the recording's, else the end of its last utterance."""
    if call.duration_s:
        return float(call.duration_s)
    last = transcripts_service.rows(session=session, call_id=call.id)
    return float(max((u.end for u in last), default=0.0))


def check_span(*, session: Session, call: Call, start: float, end: float) -> None:
    """422 unless 0 ≤ start < end ≤ the call's duration."""
    duration = call_duration(session=session, call=call)
    if start < 0 or end <= start:
        raise Unprocessable(f"Invalid clip span {start:.2f}–{end:.2f} s: start must be ≥ 0 and before end.")
    if end > duration + SPAN_TOLERANCE_S:
        raise Unprocessable(f"The clip ends at {end:.2f} s but call {call.id} is only {duration:.2f} s long; "
                            "choose a span inside the call.")


def span_text(*, session: Session, call_id: int, start: float, end: float) -> str:
    """The transcript of the utterances overlapping the span, with speaker roles."""
    rows = transcripts_service.rows(session=session, call_id=call_id)
    return "\n".join(f"{u.role.capitalize() if u.role else 'Unknown'}: {u.text}"
                     for u in rows if u.end > start and u.start < end)


def _embed(text: str) -> tuple[bytes, str]:
    embedder = ml.get_embedder()
    return np.asarray(embedder.embed([text or " "], kind="passage")[0], dtype=np.float32).tobytes(), embedder.name


def create_clip(*, session: Session, user: User, clip_in: Any) -> Clip:
    """Cut a manual clip from a call the user can see."""
    call = calls_service.get_call(session=session, call_id=clip_in.call_id, user=user)
    check_span(session=session, call=call, start=clip_in.start, end=clip_in.end)
    text = span_text(session=session, call_id=call.id, start=clip_in.start, end=clip_in.end)
    vector, model = _embed(f"{clip_in.title}\n{text}")
    clip = Clip(
        call_id=call.id, kind=ClipKind.manual, title=clip_in.title, note=clip_in.note or "", tags=clip_in.tags,
        folder=clip_in.folder or "", start=clip_in.start, end=clip_in.end, text=text, team_id=call.team_id,
        rep_id=call.rep_id, rep_name=call.rep_name, language=call.language or language_of(text),
        occurred_at=call.occurred_at or call.created_at, created_by_id=user.id, vector=vector, vector_model=model,
        **_moment_of(session, call.id, clip_in.start, clip_in.end),
    )
    session.add(clip)
    session.flush()
    index_service.mark_upsert(session, index_service.CLIP, clip.id)
    return clip


def _moment_of(session: Session, call_id: int, start: float, end: float) -> dict[str, Any]:
    """Step, topic, outcome and score of the best snippet overlapping the span (if any)."""
    snippet = session.scalar(select(Snippet).where(Snippet.call_id == call_id, Snippet.end > start,
                                                   Snippet.start < end).order_by(Snippet.score.desc()).limit(1))
    if snippet is None:
        return {}
    return {"step_id": snippet.step_id, "topic": snippet.topic, "outcome": snippet.outcome, "score": snippet.score}


def update_clip(*, session: Session, clip: Clip, clip_in: Any) -> Clip:
    """Edit title, note, tags, folder or span (re-validated against the call)."""
    changes = clip_in.model_dump(exclude_unset=True)
    start, end = changes.get("start", clip.start), changes.get("end", clip.end)
    if start != clip.start or end != clip.end:
        call = session.get(Call, clip.call_id)
        assert call is not None  # cascade: a clip never outlives its call
        check_span(session=session, call=call, start=start, end=end)
        clip.text = span_text(session=session, call_id=clip.call_id, start=start, end=end)
    for name in ("title", "note", "tags", "folder"):
        if name in changes and changes[name] is not None:
            setattr(clip, name, changes[name])
    clip.start, clip.end = start, end
    clip.vector, clip.vector_model = _embed(f"{clip.title}\n{clip.text}")
    session.flush()
    index_service.mark_upsert(session, index_service.CLIP, clip.id)
    return clip


def delete_clip(*, session: Session, clip: Clip) -> None:
    session.delete(clip)  # the before_flush hook queues the index removal
    session.flush()


def list_clips(*, session: Session, offset: int, limit: int, **filters: Any) -> tuple[list[Clip], int]:
    conditions = []
    for name in ("call_id", "kind", "folder", "step_id", "team_id", "rep_id", "language"):
        if filters.get(name) is not None:
            conditions.append(getattr(Clip, name) == filters[name])
    rows = list(session.scalars(select(Clip).where(*conditions).order_by(Clip.id.desc())))
    if filters.get("tag"):
        rows = [c for c in rows if filters["tag"] in (c.tags or [])]
    return rows[offset:offset + limit], len(rows)


# ---- auto clips -------------------------------------------------------------------------


def refresh_auto_clips(*, session: Session) -> dict[str, int]:
    """Keep the top snippets per (step, team, month) as auto clips; drop those that fell out.

    An auto clip that was put in a playlist is kept even when it falls out of the top.
    """
    settings = library_settings()
    groups: dict[tuple[str, int | None, str], list[Snippet]] = defaultdict(list)
    for s in session.scalars(select(Snippet).where(Snippet.score >= settings.auto_clip_min_score)):
        month = s.occurred_at.strftime("%Y-%m") if s.occurred_at else "undated"
        groups[(s.step_id, s.team_id, month)].append(s)
    chosen = {s.id: s for members in groups.values()
              for s in sorted(members, key=lambda m: (-m.score, m.id))[: settings.auto_clips_per_group]}
    in_playlists = set(session.scalars(select(PlaylistItem.clip_id)))
    existing = list(session.scalars(select(Clip).where(Clip.kind == ClipKind.auto)))
    removed = 0
    for clip in existing:
        if clip.snippet_id in chosen or clip.id in in_playlists:
            continue
        session.delete(clip)
        removed += 1
    have = {c.snippet_id for c in existing if c.snippet_id in chosen}
    added = [_auto_clip(s) for sid, s in chosen.items() if sid not in have]
    session.add_all(added)
    session.flush()
    return {"added": len(added), "removed": removed}


def _auto_clip(s: Snippet) -> Clip:
    text = f"Rep: {s.rep_text}" + (f"\nCustomer: {s.customer_text}" if s.customer_text else "")
    return Clip(
        call_id=s.call_id, snippet_id=s.id, kind=ClipKind.auto, title=f"{s.step_name} — {s.rep_name or 'rep'}",
        note="Top snippet for this step, team and month (auto).", tags=["auto", s.step_id], folder="auto",
        start=s.start, end=s.end, text=text, step_id=s.step_id, topic=s.topic, team_id=s.team_id, rep_id=s.rep_id,
        rep_name=s.rep_name, language=s.language, occurred_at=s.occurred_at, outcome=s.outcome, score=s.score,
        vector=s.vector, vector_model=s.vector_model,
    )


def sync_auto_clip_fields(*, session: Session) -> None:
    """Carry snippets' latest topic, score and outcome onto their auto clips."""
    pairs = session.execute(select(Clip, Snippet).join(Snippet, Snippet.id == Clip.snippet_id)).tuples()
    for clip, snippet in pairs:
        clip.topic, clip.score, clip.outcome = snippet.topic, snippet.score, snippet.outcome
    session.flush()


def count_auto(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Clip).where(Clip.kind == ClipKind.auto)) or 0


# ---- playback ---------------------------------------------------------------------------


def audio_path(*, session: Session, clip: Clip) -> Path:
    """A WAV file of just the clip's span (rendered once, cached under var/clips)."""
    call = session.get(Call, clip.call_id)
    assert call is not None
    if call.source_kind != SourceKind.audio:
        raise ClipHasNoAudio(f"Clip {clip.id} comes from call {call.id}, which was uploaded as a transcript: "
                             "it has no recording. Its text is in GET /api/v1/clips/{id} (field 'text').")
    tones = [(max(a, clip.start), min(b, clip.end)) for a, b in (call.redacted_audio_spans or [])
             if a < clip.end and b > clip.start]
    suffix = f"-tone{len(tones)}" if tones else ""
    target = get_settings().var_dir / "clips" / f"{call.sha256[:24]}-{clip.start:.3f}-{clip.end:.3f}{suffix}.wav"
    if not target.exists():
        render_span(storage.absolute(call.media_path), clip.start, clip.end, target, tones=tones)
    return target


def render_span(source: Path, start: float, end: float, target: Path,
                tones: list[tuple[float, float]] | None = None) -> None:
    """Decode [start, end) of an audio file with PyAV into a 16-bit PCM WAV (atomic write);
    `tones` (absolute seconds) are replaced by a 1 kHz tone (redacted PII)."""
    import av

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(source)) as container:
            stream = container.streams.audio[0]
            rate = int(stream.rate or 16000)
            channels = 2 if (stream.channels or 1) >= 2 else 1
            samples, first = _decode_span(container, stream, rate, channels, start, end)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise Unprocessable(f"The call's recording cannot be decoded for playback: {exc}") from exc
    lo = max(0, round((start - first) * rate))
    hi = max(lo, round((end - first) * rate))
    pcm = samples[lo:hi].copy()
    for a, b in tones or []:
        i0, i1 = max(0, int((a - start) * rate)), min(len(pcm), int((b - start) * rate))
        if i1 > i0:
            beep = (0.25 * 32767 * np.sin(2 * np.pi * 1000 * np.arange(i1 - i0) / rate)).astype(np.int16)
            pcm[i0:i1] = beep[:, None] if pcm.ndim == 2 else beep
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    os.replace(tmp, target)


def _decode_span(container: Any, stream: Any, rate: int, channels: int, start: float,
                 end: float) -> tuple[np.ndarray, float]:
    """Samples (n, channels) int16 from just before start to end, and the time of the first one."""
    import av

    if start > 2.0:
        container.seek(int((start - 1.0) * av.time_base))  # keyframe before start; decoded forward from there
    resampler = av.AudioResampler(format="s16", layout="stereo" if channels == 2 else "mono", rate=rate)
    chunks: list[np.ndarray] = []
    first: float | None = None
    total = 0
    for frame in container.decode(stream):
        if first is None:
            first = float(frame.time or 0.0)
        for out in resampler.resample(frame):
            chunk = out.to_ndarray().reshape(-1, channels)
            chunks.append(chunk)
            total += len(chunk)
        if first + total / rate >= end:
            break
    for out in resampler.resample(None):
        chunks.append(out.to_ndarray().reshape(-1, channels))
    data = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.int16)
    return data, first or 0.0
