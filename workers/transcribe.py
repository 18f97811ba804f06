"""Stage 1: speech recognition (audio calls) or parsing (uploaded transcripts)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.calls import service as calls_service
from app.calls import storage
from app.calls.models import Call, CallAsr, CallStatus
from app.privacy import service as privacy_service
from app.transcripts import roles as roles_mod
from app.transcripts import service as transcripts_service
from workers.stage import Outcome, run_stage

ACCEPTS = {CallStatus.queued, CallStatus.transcribing}


def transcribe_call(call_id: int) -> bool:
    """Transcribe an audio call with faster-whisper and keep the raw words for attribution."""
    return run_stage(call_id, stage=CallStatus.transcribing, accepts=ACCEPTS, work=_transcribe)


def _transcribe(session: Session, call: Call) -> Outcome:
    from models.transcriber import TranscribeOptions, get_transcriber

    path = storage.absolute(call.media_path)
    transcriber = get_transcriber(language=call.language)
    result = transcriber.transcribe(path, TranscribeOptions(language=call.language))
    session.execute(delete(CallAsr).where(CallAsr.call_id == call.id))
    session.add(
        CallAsr(
            call_id=call.id,
            model=result.model_name,
            language=result.language,
            result={
                "language": result.language,
                "language_probability": result.language_probability,
                "duration_s": result.duration_s,
                "segments": [asdict(segment) for segment in result.segments],
            },
        )
    )
    if call.language is None:
        call.language, call.language_source = result.language, "detected"
        call.language_probability = result.language_probability
    call.duration_s = call.duration_s or result.duration_s
    call.asr_model = result.model_name
    return Outcome(CallStatus.attributing, "speakers.attribute")


def parse_call(call_id: int) -> bool:
    """Turn an uploaded transcript into utterances; unknown roles are inferred from content."""
    return run_stage(call_id, stage=CallStatus.attributing, accepts={CallStatus.queued, CallStatus.attributing}, work=_parse)


def _parse(session: Session, call: Call) -> Outcome:
    data = storage.absolute(call.media_path).read_bytes()
    parsed = calls_service.parse_transcript_bytes(data, filename=call.original_filename)
    utterances = list(parsed.utterances)
    method, confidence = "transcript", 1.0
    if any(u.role == "unknown" for u in utterances):
        utterances, method, confidence = roles_mod.assign_roles_by_content(utterances, language=call.language)
    utterances, _ = privacy_service.redact_utterances(session=session, call=call, utterances=utterances)
    transcripts_service.replace_utterances(session=session, call_id=call.id, utterances=utterances)
    call.language = call.language or parsed.language
    call.duration_s = call.duration_s or (utterances[-1].end if utterances else None)
    call.attribution_method, call.attribution_confidence = method, confidence
    return Outcome(CallStatus.embedding, "embed.utterances")
