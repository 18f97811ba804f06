"""Apply a team's privacy policy: redact utterances at ingest, keep originals if asked, edit the policy.

The pipeline calls `redact_utterances()` before it stores utterances, so the stored
transcript, the search index, exports and clips are all built from redacted text; the
returned audio spans are where clips should carry a tone instead of speech.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls.models import Call, SourceKind
from app.privacy import redaction
from app.privacy.models import UtteranceOriginal
from app.privacy.schemas import PrivacySettings, PrivacySettingsRead
from app.transcripts.formats import Utterance, Word
from app.users import service as users_service
from app.users.models import Team, User

log = logging.getLogger(__name__)

AudioSpan = tuple[float, float]
# Spoken digits blur into their neighbours: widen each muted span a little.
TONE_PAD_S = 0.15


def settings_of(team: Team | None) -> PrivacySettings:
    """A team's stored policy; no team or nothing stored means the safe default (redact, keep nothing)."""
    stored: dict[str, Any] = dict(team.redaction or {}) if team is not None else {}
    if team is not None:
        stored["retention_days"] = team.retention_days
    return PrivacySettings.model_validate(stored)


def get_team_settings(*, session: Session, team_id: int) -> PrivacySettingsRead:
    team = users_service.get_team(session=session, team_id=team_id)
    return PrivacySettingsRead(team_id=team.id, **settings_of(team).model_dump())


def update_team_settings(
    *, session: Session, actor: User | None, team_id: int, settings_in: PrivacySettings
) -> PrivacySettingsRead:
    """Replace a team's policy; redaction and retention changes are audited separately."""
    team = users_service.get_team(session=session, team_id=team_id)
    before = settings_of(team)
    stored = settings_in.model_dump(mode="json", exclude={"retention_days"})
    team.redaction = stored
    team.retention_days = settings_in.retention_days
    session.flush()
    if before.model_dump(exclude={"retention_days"}) != settings_in.model_dump(exclude={"retention_days"}):
        audit_service.record(
            session=session, actor=actor, action=AuditAction.privacy_change, target_type="team",
            target_id=team.id, detail={"before": before.model_dump(mode="json", exclude={"retention_days"}),
                                       "after": stored},
        )
    if before.retention_days != settings_in.retention_days:
        audit_service.record(
            session=session, actor=actor, action=AuditAction.retention_change, target_type="team",
            target_id=team.id, detail={"before": before.retention_days, "after": settings_in.retention_days},
        )
    return PrivacySettingsRead(team_id=team.id, **settings_of(team).model_dump())


def policy_for(settings: PrivacySettings) -> redaction.RedactionPolicy | None:
    """The redaction policy to apply, or None when the team switched redaction off."""
    if not settings.redaction_enabled or not settings.kinds:
        return None
    return redaction.RedactionPolicy(
        kinds=frozenset(settings.kinds), style=settings.style, keep_original=settings.keep_original
    )


def redact_utterances(
    *, session: Session, call: Call, utterances: list[Utterance]
) -> tuple[list[Utterance], list[AudioSpan]]:
    """Redact text and words under the call's team policy; returns them and the audio spans to tone out."""
    team = session.get(Team, call.team_id) if call.team_id is not None else None
    settings = settings_of(team)
    policy = policy_for(settings)
    session.execute(delete(UtteranceOriginal).where(UtteranceOriginal.call_id == call.id))
    if policy is None:
        return list(utterances), []
    out: list[Utterance] = []
    spans: list[AudioSpan] = []
    for position, utterance in enumerate(utterances):
        redacted, audio = _redact_one(utterance, policy)
        out.append(redacted)
        spans.extend(audio)
        if policy.keep_original and redacted != utterance:
            session.add(UtteranceOriginal(call_id=call.id, idx=position, text=utterance.text,
                                          words=[[w.start, w.end, w.text, w.probability] for w in utterance.words]))
    session.flush()
    changed = sum(1 for a, b in zip(out, utterances, strict=True) if a != b)
    log.info("privacy.redacted call_id=%s utterances=%s changed=%s", call.id, len(out), changed)
    wants_tone = settings.audio_tone and call.source_kind == SourceKind.audio
    return out, (_merge(spans) if wants_tone else [])


def _redact_one(utterance: Utterance, policy: redaction.RedactionPolicy) -> tuple[Utterance, list[AudioSpan]]:
    text_result = redaction.redact(utterance.text, policy)
    if not utterance.words:
        audio = [_estimate(utterance, s) for s in text_result.spans]
        return replace(utterance, text=text_result.text), audio
    words = redaction.redact_words([(w.start, w.end, w.text) for w in utterance.words], policy)
    new_words = tuple(
        Word(start=w.start, end=w.end, text=masked[2], probability=w.probability)
        for w, masked in zip(utterance.words, words.words, strict=True)
    )
    audio = list(words.audio_ranges)
    if text_result.spans and not words.spans:
        # The text and the word list disagree (edited transcript): estimate from the text.
        audio = [_estimate(utterance, s) for s in text_result.spans]
    return replace(utterance, text=text_result.text, words=new_words), audio


def _estimate(utterance: Utterance, span: redaction.PiiSpan) -> AudioSpan:
    """Where a span of text is spoken, assuming an even speaking rate across the utterance."""
    length = max(1, len(utterance.text))
    duration = max(0.0, utterance.end - utterance.start)
    return (utterance.start + duration * span.start / length, utterance.start + duration * span.end / length)


def _merge(spans: list[AudioSpan]) -> list[AudioSpan]:
    merged: list[AudioSpan] = []
    for start, end in sorted((max(0.0, s - TONE_PAD_S), e + TONE_PAD_S) for s, e in spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def apply_tone(samples: np.ndarray, sample_rate: int, spans: list[AudioSpan], *, freq_hz: float = 1000.0,
               amplitude: float = 0.2) -> np.ndarray:
    """A copy of mono or (channels, n) audio with each span replaced by a sine tone."""
    out = np.array(samples, dtype=np.float32, copy=True)
    n = out.shape[-1]
    for start, end in spans:
        lo, hi = max(0, int(start * sample_rate)), min(n, int(np.ceil(end * sample_rate)))
        if hi <= lo:
            continue
        t = np.arange(lo, hi, dtype=np.float32) / sample_rate
        out[..., lo:hi] = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return out


def original_utterances(*, session: Session, call_id: int) -> list[UtteranceOriginal]:
    """Unredacted originals stored for a call (admins only: the router checks and audits)."""
    return list(session.scalars(
        select(UtteranceOriginal).where(UtteranceOriginal.call_id == call_id).order_by(UtteranceOriginal.idx)
    ))
