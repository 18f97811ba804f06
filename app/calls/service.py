"""Calls: accept uploads, list and read them within the caller's permissions, reprocess, delete."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, Select, delete, event, false, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobs
from app.calls import sniff, storage
from app.calls.exceptions import (
    CallNotFound,
    CallNotReprocessable,
    InvalidTranscript,
    UnsupportedUpload,
)
from app.calls.models import Call, CallAsr, CallStatus, SourceKind
from app.calls.schemas import CallMeta
from app.config import get_settings
from app.db import utcnow
from app.errors import Forbidden, PayloadTooLarge, Unprocessable
from app.transcripts.formats import ParsedTranscript, TranscriptFormatError, parse_transcript
from app.transcripts.models import UtteranceRow
from app.transcripts.turns import normalise_turns
from app.users import service as users_service
from app.users.models import Role, TeamRelation, User

log = logging.getLogger(__name__)

FIRST_TASK = {SourceKind.audio: "asr.transcribe", SourceKind.transcript: "transcript.parse"}
STAGE_TASK = {
    CallStatus.transcribing: "asr.transcribe",
    CallStatus.embedding: "embed.utterances",
    CallStatus.matching: "sop.match",
}
QUEUED_GRACE_S = 3600


@dataclass(frozen=True)
class Accepted:
    call: Call
    duplicate: bool


def visible_filter(user: User) -> ColumnElement[bool]:
    """Which calls a user may see: admins all; managers/trainers their teams; reps their own."""
    if user.role == Role.admin:
        return true()
    if user.role == Role.rep:
        return Call.rep_id == user.id
    relation = TeamRelation.manager if user.role == Role.manager else TeamRelation.trainer
    team_ids = user.team_ids(relation)
    return Call.team_id.in_(team_ids) if team_ids else false()


def get_call(*, session: Session, call_id: int, user: User | None = None) -> Call:
    """A call the user may see; 404 otherwise (never reveal that it exists)."""
    query = select(Call).where(Call.id == call_id)
    if user is not None:
        query = query.where(visible_filter(user))
    call = session.scalar(query)
    if call is None:
        raise CallNotFound(f"Call {call_id} does not exist or is not visible to you.")
    return call


def list_calls(
    *,
    session: Session,
    user: User,
    offset: int,
    limit: int,
    **filters: Unpack[CallFilters],
) -> tuple[list[Call], int]:
    """A page of the calls the user may see, newest first, and how many there are in all."""
    conditions = _list_conditions(user, **filters)
    total = session.scalar(select(func.count()).select_from(Call).where(*conditions)) or 0
    items = session.scalars(
        select(Call).where(*conditions).order_by(Call.id.desc()).offset(offset).limit(limit)
    ).all()
    return list(items), total


def list_call_rows(
    *, session: Session, user: User, columns: Sequence[str], offset: int, limit: int, **filters: Unpack[CallFilters]
) -> tuple[list[dict[str, Any]], int]:
    """`list_calls` as plain column values (the API's list path): no ORM objects, and the total
    counted in the same query (a second one only for a page past the end)."""
    conditions = _list_conditions(user, **filters)
    query = _row_query(tuple(columns)).where(*conditions).order_by(Call.id.desc()).offset(offset).limit(limit)
    result = session.connection().execute(query).all()
    if result:
        return [dict(zip(columns, row, strict=False)) for row in result], result[0][-1]  # last: the total
    if offset == 0:
        return [], 0
    return [], session.scalar(select(func.count()).select_from(Call).where(*conditions)) or 0


@cache
def _row_query(columns: tuple[str, ...]) -> Select[Any]:
    """The columns and the window count, built once (building a 30-column select on every listing
    cost a tenth of it)."""
    return select(*(getattr(Call, name) for name in columns), func.count().over().label("_total"))


class CallFilters(TypedDict, total=False):
    rep_id: int | None
    team_id: int | None
    status: str | None
    language: str | None
    occurred_from: datetime | None
    occurred_to: datetime | None


def _list_conditions(user: User, **filters: Unpack[CallFilters]) -> list[ColumnElement[bool]]:
    """The user's visibility and the given filters (None: not filtered)."""
    conditions = [visible_filter(user)]
    equal = {"rep_id": Call.rep_id, "team_id": Call.team_id, "status": Call.status, "language": Call.language}
    conditions += [equal[name] == filters[name] for name in equal if filters.get(name) is not None]  # type: ignore[literal-required]
    if (occurred_from := filters.get("occurred_from")) is not None:
        conditions.append(Call.occurred_at >= occurred_from)
    if (occurred_to := filters.get("occurred_to")) is not None:
        conditions.append(Call.occurred_at < occurred_to)
    return conditions


def _resolve_people(*, session: Session, user: User, meta: CallMeta) -> tuple[User | None, str, int | None]:
    """The rep and team of an upload, checked against what the uploader may do."""
    rep: User | None = None
    rep_name = meta.rep or ""
    if meta.rep and "@" in meta.rep:
        rep = users_service.get_user_by_email(session=session, email=meta.rep)
        if rep is None:
            raise Unprocessable(f"No user with e-mail {meta.rep}; create the rep first or omit 'rep'.")
        rep_name = rep.name
    if user.role == Role.rep:
        if rep is not None and rep.id != user.id:
            raise Forbidden("A rep can upload only their own calls.")
        rep, rep_name = user, user.name
    team_id = _resolve_team(session=session, meta=meta, rep=rep)
    if user.role in (Role.manager, Role.trainer):
        allowed = user.team_ids(TeamRelation.manager, TeamRelation.trainer)
        if team_id is None or team_id not in allowed:
            raise Forbidden("Upload into one of your own teams: set 'team' to a team you lead or serve.")
    return rep, rep_name, team_id


def _resolve_team(*, session: Session, meta: CallMeta, rep: User | None) -> int | None:
    if meta.team:
        team = (
            users_service.get_team(session=session, team_id=int(meta.team))
            if meta.team.isdigit()
            else users_service.get_team_by_name(session=session, name=meta.team)
        )
        if team is None:
            raise Unprocessable(f"No team named {meta.team!r}; create it first or omit 'team'.")
        return team.id
    if rep is not None:
        member_of = sorted(rep.team_ids(TeamRelation.member))
        return member_of[0] if member_of else None
    return None


def accept_upload(
    *, session: Session, user: User, staged: storage.StagedFile, filename: str, meta: CallMeta
) -> Accepted:
    """Validate an uploaded file, store it, create the call and queue its first stage."""
    existing = session.scalar(select(Call).where(Call.sha256 == staged.sha256))
    if existing is not None:
        storage.discard(staged)
        return Accepted(call=get_call(session=session, call_id=existing.id, user=user), duplicate=True)
    rep, rep_name, team_id = _resolve_people(session=session, user=user, meta=meta)
    _check_stages(session=session, meta=meta, staged=staged)
    kind, fmt, channels, duration, language = _inspect(staged, meta)
    relative = storage.commit(staged, ext=fmt if kind == SourceKind.audio else "txt")
    call = Call(
        sha256=staged.sha256,
        title=meta.title or _title_from(filename),
        source_kind=kind,
        source_format=fmt,
        original_filename=_safe_name(filename),
        media_path=relative,
        size_bytes=staged.size,
        rep_id=rep.id if rep else None,
        rep_name=rep_name,
        team_id=team_id,
        uploaded_by_id=user.id,
        occurred_at=meta.occurred_at,
        language=language,
        language_source="given" if meta.language else None,
        external_deal_id=meta.deal_ref,
        external_account_id=meta.account_ref,
        sop_id=meta.sop_id,
        sop_stages=meta.stages,
        call_type=meta.call_type,
        channels=channels,
        rep_channel=meta.rep_channel,
        duration_s=duration,
        status=CallStatus.queued,
    )
    try:
        with session.begin_nested():
            session.add(call)
            session.flush()
    except IntegrityError:
        # The same bytes were accepted concurrently: answer with that call.
        existing = session.scalar(select(Call).where(Call.sha256 == staged.sha256))
        if existing is None:
            raise
        return Accepted(call=existing, duplicate=True)
    jobs.enqueue(session, FIRST_TASK[SourceKind(kind)], call_id=call.id)
    log.info("call.accepted call_id=%s kind=%s format=%s", call.id, kind, fmt)
    return Accepted(call=call, duplicate=False)


def _check_stages(*, session: Session, meta: CallMeta, staged: storage.StagedFile) -> None:
    """Stages given with a named, stored SOP must be its stages (422 listing them); with no SOP
    named they are checked when the call is matched (unknown ones are left out, with a note)."""
    if not meta.stages or not meta.sop_id:
        return
    from app.sop import service as sop_service

    row = sop_service.latest_version(session=session, sop_id=meta.sop_id)
    if row is None:
        return
    try:
        sop_service.check_stages(meta.stages, sop_service.definition_of(row))
    except Unprocessable:
        storage.discard(staged)
        raise


def _inspect(staged: storage.StagedFile, meta: CallMeta) -> tuple[str, str, int | None, float | None, str | None]:
    sniffed = sniff.sniff(staged.head)
    if sniffed.kind == "audio":
        from app import ml

        try:
            info = ml.probe_audio(staged.path)
        except Unprocessable:
            storage.discard(staged)
            raise
        return SourceKind.audio, sniffed.format, info.channels, info.duration_s, meta.language
    if sniffed.kind == "text":
        limit = get_settings().max_transcript_bytes
        if staged.size > limit:
            storage.discard(staged)
            raise PayloadTooLarge(f"Transcripts may be at most {limit:,} bytes; this one is {staged.size:,}.")
        try:
            parsed = parse_transcript_bytes(staged.path.read_bytes(), filename=staged.path.name)
        except InvalidTranscript:
            storage.discard(staged)
            raise
        if not parsed.utterances:
            storage.discard(staged)
            raise InvalidTranscript("The transcript has no utterances.")
        language = meta.language or parsed.language
        return SourceKind.transcript, parsed.source_format, None, parsed.duration_s, language
    storage.discard(staged)
    raise UnsupportedUpload(
        "Unrecognised file: send audio (wav, mp3, m4a/aac, ogg/opus, flac, webm) or a transcript "
        "(JSON, Megaview JSON, WebVTT, SRT, or text with 'Rep:'/'Customer:' prefixes)."
    )


def parse_transcript_bytes(data: bytes, *, filename: str | None = None) -> ParsedTranscript:
    """Parse a transcript, long turns cut at sentence ends as the pipeline cuts ASR words
    (turns.normalise_turns); format errors become 422 with the parser's message."""
    try:
        return normalise_turns(parse_transcript(data, filename=filename))
    except TranscriptFormatError as exc:
        raise InvalidTranscript(str(exc)) from exc


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:255]


def _title_from(filename: str) -> str:
    return _safe_name(filename).rsplit(".", 1)[0][:300] or "Untitled call"


def reprocess(*, session: Session, call: Call) -> Call:
    """Run the whole pipeline again from the stored media."""
    if call.status not in (CallStatus.ready, CallStatus.failed):
        raise CallNotReprocessable(
            f"Call {call.id} is still being processed ({call.status}); wait until it is ready or failed."
        )
    call.status, call.error, call.failed_stage, call.stage_token = CallStatus.queued, None, None, None
    call.timings = {}
    session.flush()
    jobs.enqueue(session, FIRST_TASK[SourceKind(call.source_kind)], call_id=call.id)
    return call


def delete_call(*, session: Session, call: Call) -> None:
    """Delete the call's rows now and its media file once the deletion has committed."""
    media_path = call.media_path
    session.execute(delete(UtteranceRow).where(UtteranceRow.call_id == call.id))
    session.execute(delete(CallAsr).where(CallAsr.call_id == call.id))
    session.delete(call)
    session.flush()
    session.info.setdefault("delete_media_after_commit", []).append(media_path)


@event.listens_for(Session, "after_commit")
def _delete_media_after_commit(session: Session) -> None:
    # Media is content-addressed and sha256 is unique: the file belongs to that call alone.
    for relative in session.info.pop("delete_media_after_commit", []):
        storage.delete(relative)


def _task_for(call: Call) -> str:
    if call.status == CallStatus.queued:
        return FIRST_TASK[SourceKind(call.source_kind)]
    if call.status == CallStatus.attributing:
        return "transcript.parse" if call.source_kind == SourceKind.transcript else "speakers.attribute"
    return STAGE_TASK[CallStatus(call.status)]


def recover_stalled(*, session: Session, now: datetime | None = None) -> list[int]:
    """Re-send the stage of calls whose worker died mid-stage (or whose job was lost).

    A stage claimed longer ago than its time limit (+2 min) cannot still be running: its
    worker is gone. Sending the stage again is safe — stages re-claim with a new token and
    a late finisher of the old attempt cannot commit (workers/stage.py). This bounds recovery
    by the stage time limit whatever the broker does (the filesystem broker never redelivers).
    """
    now = now or utcnow()
    stale_before = now - timedelta(seconds=get_settings().stage_time_limit_s + 120)
    processing = [CallStatus.transcribing, CallStatus.attributing, CallStatus.embedding, CallStatus.matching]
    stuck = session.scalars(
        select(Call).where(
            (Call.status.in_(processing) & (Call.stage_started_at < stale_before))
            | ((Call.status == CallStatus.queued) & (Call.updated_at < now - timedelta(seconds=QUEUED_GRACE_S)))
        ).limit(200)
    ).all()
    for call in stuck:
        jobs.enqueue(session, _task_for(call), call_id=call.id)
        call.updated_at = now  # one resend per grace period for queued calls
        log.warning("call.recovered call_id=%s status=%s", call.id, call.status)
    return [c.id for c in stuck]


def _recover_periodically() -> None:
    from app.db import session_scope

    with session_scope() as session:
        recover_stalled(session=session)


jobs.register_periodic(_recover_periodically)
