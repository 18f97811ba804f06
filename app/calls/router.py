"""REST: /api/v1/calls."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from pydantic import ValidationError

from app.audit import service as audit_service
from app.audit.models import AuditAction
from app.calls import service as calls_service
from app.calls import storage
from app.calls.models import CallStatus
from app.calls.schemas import CallAccepted, CallList, CallMeta, CallRead
from app.config import get_settings
from app.deps import (
    CurrentUser,
    PageDep,
    SessionDep,
    UploadSlot,
    commits_in_route,
    json_rows_response,
)
from app.errors import Unprocessable

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


def _meta(**fields: object) -> CallMeta:
    try:
        return CallMeta(**{k: v for k, v in fields.items() if v not in (None, "")})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Unprocessable(f"Invalid call metadata: {problems}") from exc


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=CallAccepted)
def upload_call(
    _slot: UploadSlot,
    session: SessionDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="audio or transcript file")],
    title: Annotated[str | None, Form(max_length=300)] = None,
    rep: Annotated[str | None, Form(max_length=254)] = None,
    team: Annotated[str | None, Form(max_length=120)] = None,
    occurred_at: Annotated[datetime | None, Form()] = None,
    language: Annotated[str | None, Form(max_length=8)] = None,
    deal_ref: Annotated[str | None, Form(max_length=120)] = None,
    account_ref: Annotated[str | None, Form(max_length=120)] = None,
    sop_id: Annotated[str | None, Form(max_length=100)] = None,
    call_type: Annotated[str | None, Form(max_length=60)] = None,
    rep_channel: Annotated[str | None, Form(max_length=8)] = None,
    stages: Annotated[str | None, Form(max_length=1000, description="SOP stage ids the call works on, comma-separated")] = None,
) -> CallAccepted:
    """Upload a recording or a transcript; processing continues in the background (202)."""
    meta = _meta(
        title=title, rep=rep, team=team, occurred_at=occurred_at, language=language, deal_ref=deal_ref,
        account_ref=account_ref, sop_id=sop_id, call_type=call_type, rep_channel=rep_channel, stages=stages,
    )
    staged = storage.stage(storage.iter_file(file.file), max_bytes=get_settings().max_upload_bytes)
    try:
        accepted = calls_service.accept_upload(
            session=session, user=user, staged=staged, filename=file.filename or "", meta=meta
        )
    except BaseException:
        storage.discard(staged)
        raise
    call = accepted.call
    detail = (
        f"Already uploaded as call {call.id}; not processed again."
        if accepted.duplicate
        else f"Accepted; follow progress at /api/v1/calls/{call.id}."
    )
    return CallAccepted(id=call.id, status=call.status, duplicate=accepted.duplicate, detail=detail)


@router.get("", response_model=CallList)
@commits_in_route
def list_calls(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    rep_id: int | None = None,
    team_id: int | None = None,
    status_: Annotated[CallStatus | None, Query(alias="status")] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    occurred_from: datetime | None = None,
    occurred_to: datetime | None = None,
) -> Response:
    """The calls you may see, newest first (plain columns, serialised once: the hottest read)."""
    items, total = calls_service.list_call_rows(
        session=session, user=user, columns=LIST_COLUMNS, offset=page.offset, limit=page.page_size, rep_id=rep_id,
        team_id=team_id, status=status_, language=language, occurred_from=occurred_from, occurred_to=occurred_to,
    )
    return json_rows_response({"items": items, "total": total, "page": page.page, "page_size": page.page_size})


LIST_COLUMNS = tuple(CallRead.model_fields)


@router.get("/{call_id}", response_model=CallRead)
@commits_in_route
def get_call(call_id: int, session: SessionDep, user: CurrentUser) -> CallRead:
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    audit_service.record(session=session, actor=user, action=AuditAction.call_view, target_type="call",
                         target_id=call.id)
    return CallRead.model_validate(call)


@router.post("/{call_id}/reprocess", status_code=status.HTTP_202_ACCEPTED, response_model=CallRead)
def reprocess_call(call_id: int, session: SessionDep, user: CurrentUser) -> CallRead:
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    return CallRead.model_validate(calls_service.reprocess(session=session, call=call))


@router.delete("/{call_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_call(call_id: int, session: SessionDep, user: CurrentUser) -> None:
    call = calls_service.get_call(session=session, call_id=call_id, user=user)
    audit_service.record(session=session, actor=user, action=AuditAction.call_delete, target_type="call",
                         target_id=call.id, detail={"team_id": call.team_id, "rep_id": call.rep_id,
                                                    "sha256": call.sha256})
    calls_service.delete_call(session=session, call=call)
