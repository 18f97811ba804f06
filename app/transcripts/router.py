"""REST: a call's transcript, as JSON or exported to WebVTT, SRT or text."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.calls.models import Call, CallStatus
from app.deps import CurrentUser, SessionDep, commits_in_route, json_rows_response
from app.errors import Conflict
from app.transcripts import formats
from app.transcripts import service as transcripts_service

router = APIRouter(prefix="/api/v1/calls", tags=["transcripts"])


class WordOut(BaseModel):
    start: float
    end: float
    text: str
    probability: float | None = None


class UtteranceOut(BaseModel):
    index: int
    speaker: str
    role: str
    start: float
    end: float
    text: str
    words: list[WordOut]


class TranscriptOut(BaseModel):
    call_id: int
    language: str | None
    duration_s: float | None
    attribution_method: str | None
    attribution_confidence: float | None
    utterances: list[UtteranceOut]


MEDIA_TYPES = {"vtt": "text/vtt", "srt": "application/x-subrip", "txt": "text/plain"}


@router.get("/{call_id}/transcript", response_model=TranscriptOut)
@commits_in_route
def get_transcript(
    call_id: int,
    session: SessionDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "vtt", "srt", "txt"], Query()] = "json",
) -> Response:
    """Utterances with role, speaker, times, words; `format=vtt|srt|txt` downloads an export."""
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    audit_service.record(
        session=session, actor=user, target_type="call", target_id=call.id, detail={"format": format},
        action=AuditAction.transcript_view if format == "json" else AuditAction.transcript_export,
    )
    if format == "json":
        rows = transcripts_service.utterance_dicts(session=session, call_id=call.id)
        _require_transcript(call, bool(rows))
        # Plain dicts in TranscriptOut's shape, serialised once (the transcript is the hottest read
        # after the call list; tests/calls/test_read_serialisation.py holds it to TranscriptOut).
        return json_rows_response({
            "call_id": call.id, "language": call.language, "duration_s": call.duration_s,
            "attribution_method": call.attribution_method, "attribution_confidence": call.attribution_confidence,
            "utterances": rows,
        })
    utterances = transcripts_service.utterances(session=session, call_id=call.id)
    _require_transcript(call, bool(utterances))
    body = {"vtt": formats.to_webvtt, "srt": formats.to_srt, "txt": formats.to_text}[format](utterances)
    filename = f"call-{call.id}.{format}"
    return Response(
        content=body,
        media_type=f"{MEDIA_TYPES[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _require_transcript(call: Call, present: bool) -> None:
    """409 for a call whose transcript is not written (yet, or because it failed)."""
    if present:
        return
    if call.status == CallStatus.failed:
        raise Conflict(f"Call {call.id} failed before its transcript was written: {call.error}")
    raise Conflict(f"Call {call.id} has no transcript yet (status: {call.status}); try again when ready.")
