"""Stage 2: who spoke each word (stereo channels or mono diarization) and which speaker is the rep."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from app.calls import storage
from app.calls.models import Call, CallAsr, CallStatus
from app.errors import AppError
from app.privacy import service as privacy_service
from app.transcripts import roles as roles_mod
from app.transcripts import service as transcripts_service
from app.transcripts.formats import Word
from app.transcripts.turns import build_utterances
from app.users.models import User
from workers.stage import Outcome, run_stage

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Attribution:
    labels: list[str]  # speaker label per word
    roles: dict[str, str]  # speaker label -> rep | customer
    method: str
    confidence: float


def attribute_call(call_id: int) -> bool:
    return run_stage(call_id, stage=CallStatus.attributing, accepts={CallStatus.attributing}, work=_attribute)


def _attribute(session: Session, call: Call) -> Outcome:
    asr = session.get(CallAsr, call.id)
    if asr is None:
        raise AppError("No speech-recognition result is stored for this call; reprocess it.")
    words = [
        Word(start=w["start"], end=w["end"], text=w["word"] if "word" in w else w["text"], probability=w.get("probability"))
        for seg in asr.result["segments"]
        for w in seg.get("words") or ()
    ]
    utterances = []
    if words:
        attribution = _attribute_words(session, call, words)
        utterances = build_utterances(list(zip(words, attribution.labels, strict=True)), roles=attribution.roles)
        call.attribution_method, call.attribution_confidence = attribution.method, round(attribution.confidence, 3)
    utterances, tone_spans = privacy_service.redact_utterances(session=session, call=call, utterances=utterances)
    call.redacted_audio_spans = [[round(a, 3), round(b, 3)] for a, b in tone_spans]
    transcripts_service.replace_utterances(session=session, call_id=call.id, utterances=utterances)
    return Outcome(CallStatus.embedding, "embed.utterances")


def _attribute_words(session: Session, call: Call, words: list[Word]) -> Attribution:
    from models import audio

    path = storage.absolute(call.media_path)
    if (call.channels or 1) >= 2:
        left, right = audio.load(path, split_stereo=True)
        return _stereo(call, words, left, right)
    return _mono(session, call, words, audio.load(path))


def _stereo(call: Call, words: list[Word], left: np.ndarray, right: np.ndarray) -> Attribution:
    from models.diarizer import attribute_stereo

    attributions = attribute_stereo(words, left, right, SAMPLE_RATE)
    labels = ["left" if a.channel == 0 else "right" for a in attributions]
    rep_label = call.rep_channel if call.rep_channel in ("left", "right") else "left"
    roles = {rep_label: "rep", ("right" if rep_label == "left" else "left"): "customer"}
    # Confidence: mean energy share of the winning channel (0.5 = indistinguishable, 1 = clean).
    confidence = float(np.mean([a.confidence for a in attributions])) if attributions else 0.0
    return Attribution(labels, roles, "channel", confidence)


def _mono(session: Session, call: Call, words: list[Word], samples: np.ndarray) -> Attribution:
    from models.diarizer import diarize_mono, match_voiceprint

    diarization = diarize_mono(samples, SAMPLE_RATE)
    labels = [f"speaker_{_speaker_at(diarization.turns, (w.start + w.end) / 2)}" for w in words]
    speakers = sorted(set(labels))
    rep = session.get(User, call.rep_id) if call.rep_id else None
    if rep is not None and rep.voiceprint is not None and diarization.num_speakers >= 1:
        match = match_voiceprint(diarization.speaker_embeddings, np.frombuffer(rep.voiceprint, dtype=np.float32))
        if match.is_match:
            rep_label = f"speaker_{match.speaker}"
            roles = {s: ("rep" if s == rep_label else "customer") for s in speakers}
            return Attribution(labels, roles, "voiceprint", match.similarity)
    decision = roles_mod.decide_roles_for_words(words, labels, language=call.language)
    if decision.rep_speaker is None:
        # No evidence either way: the first speaker of an outbound sales call is usually the rep.
        roles = {s: ("rep" if i == 0 else "customer") for i, s in enumerate(dict.fromkeys(labels))}
        return Attribution(labels, roles, "first-speaker", 0.5)
    roles = {s: ("rep" if s == decision.rep_speaker else "customer") for s in speakers}
    return Attribution(labels, roles, "content", decision.confidence)


def _speaker_at(turns: tuple, t: float) -> int:  # type: ignore[type-arg]
    """The diarized speaker at time t: the turn containing it, else the nearest turn."""
    if not turns:
        return 0
    best = min(turns, key=lambda turn: 0.0 if turn.start <= t <= turn.end else min(abs(turn.start - t), abs(turn.end - t)))
    return int(best.speaker)
